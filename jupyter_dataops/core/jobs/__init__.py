"""Jobs: run a notebook with parameters, now, as a papermill execution owned by the core."""
