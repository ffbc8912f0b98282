import './base.css';
import './schedules.css';
import './snapshots.css';
import './endpoints.css';
import './sandboxes.css';
