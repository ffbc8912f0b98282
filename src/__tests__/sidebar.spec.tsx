import { nullTranslator } from '@jupyterlab/translation';
import { AccordionPanel, Widget } from '@lumino/widgets';
import * as React from 'react';

import { DataOpsSidebar } from '../sidebar';

/** The section headings, in the order the accordion lays them out. */
function titles(sidebar: DataOpsSidebar): string[] {
  return (sidebar.content as AccordionPanel).titles.map(
    node => node.textContent ?? ''
  );
}

async function until(check: () => boolean): Promise<void> {
  for (let i = 0; i < 200 && !check(); i++) {
    await new Promise(resolve => setTimeout(resolve, 10));
  }
  expect(check()).toBe(true);
}

function section(id: string, rank?: number) {
  const content = new Widget();
  content.node.textContent = `${id} body`;
  return { id, title: id.toUpperCase(), rank, content };
}

describe('DataOpsSidebar', () => {
  let sidebar: DataOpsSidebar;
  const shown: string[] = [];

  beforeEach(() => {
    shown.length = 0;
    sidebar = new DataOpsSidebar({
      translator: nullTranslator,
      activate: id => shown.push(id)
    });
    Widget.attach(sidebar, document.body);
  });

  afterEach(() => {
    sidebar.dispose();
  });

  it('has a heading and no sections at first', () => {
    expect(sidebar.id).toBe('jp-DataOps-sidebar');
    expect(
      sidebar.node.querySelector('.jp-DataOps-sidebarTitle')!.textContent
    ).toBe('DataOps');
    expect(sidebar.sections).toHaveLength(0);
  });

  it('orders sections by rank, then by the order they came', () => {
    const changed = jest.fn();
    sidebar.sectionsChanged.connect(changed);
    sidebar.addSection(section('snapshots', 300));
    sidebar.addSection(section('jobs', 100));
    sidebar.addSection(section('schedules', 200));
    sidebar.addSection(section('endpoints', 300));
    sidebar.addSection(section('sandboxes'));
    expect(sidebar.sections.map(item => item.id)).toEqual([
      'jobs',
      'sandboxes',
      'schedules',
      'snapshots',
      'endpoints'
    ]);
    expect(titles(sidebar)).toEqual([
      'JOBS',
      'SANDBOXES',
      'SCHEDULES',
      'SNAPSHOTS',
      'ENDPOINTS'
    ]);
    expect(sidebar.sections[1].rank).toBe(100);
    expect(changed).toHaveBeenCalledTimes(5);
  });

  it('removes a section when it is disposed', () => {
    const jobs = sidebar.addSection(section('jobs', 100));
    const schedules = sidebar.addSection(section('schedules', 200));
    const changed = jest.fn();
    sidebar.sectionsChanged.connect(changed);
    jobs.dispose();
    expect(sidebar.sections.map(item => item.id)).toEqual(['schedules']);
    expect(titles(sidebar)).toEqual(['SCHEDULES']);
    expect(jobs.widget.isDisposed).toBe(true);
    expect(changed).toHaveBeenCalledTimes(1);
    // The id is free again.
    sidebar.addSection(section('jobs', 100));
    expect(titles(sidebar)).toEqual(['JOBS', 'SCHEDULES']);
    expect(schedules.isDisposed).toBe(false);
  });

  it('refuses a second section with a taken id', () => {
    sidebar.addSection(section('jobs'));
    expect(() => sidebar.addSection(section('jobs'))).toThrow(/jobs/);
  });

  it('renders a React component as a section', async () => {
    const added = sidebar.addSection({
      id: 'schedules',
      title: 'Schedules',
      content: () => <p className="probe">no schedules yet</p>
    });
    added.content.update();
    await until(() => added.content.node.textContent === 'no schedules yet');
  });

  it('puts toolbar widgets in the section heading', () => {
    const button = new Widget({ node: document.createElement('button') });
    button.addClass('probe-refresh');
    sidebar.addSection({
      ...section('jobs'),
      toolbar: [{ name: 'refresh', widget: button }]
    });
    const heading = sidebar.node.querySelector('.lm-AccordionPanel-title')!;
    expect(heading.querySelector('.probe-refresh')).not.toBeNull();
  });

  it('collapses and expands sections, and says so', () => {
    sidebar.addSection(section('jobs', 100));
    sidebar.addSection(section('schedules', 200));
    const toggled: { id: string; expanded: boolean }[] = [];
    sidebar.expansionChanged.connect((_, change) => toggled.push(change));
    expect(sidebar.isExpanded('jobs')).toBe(true);
    sidebar.setExpanded('jobs', false);
    expect(sidebar.isExpanded('jobs')).toBe(false);
    expect(sidebar.collapsed).toEqual(['jobs']);
    sidebar.showSection('jobs');
    expect(sidebar.isExpanded('jobs')).toBe(true);
    expect(shown).toEqual(['jp-DataOps-sidebar']);
    expect(toggled).toEqual([
      { id: 'jobs', expanded: false },
      { id: 'jobs', expanded: true }
    ]);
  });

  it('collapses a section added later if it was collapsed before', () => {
    sidebar.setExpanded('schedules', false);
    sidebar.addSection(section('schedules', 200));
    expect(sidebar.isExpanded('schedules')).toBe(false);
    sidebar.addSection({ ...section('snapshots', 300), expanded: false });
    expect(sidebar.isExpanded('snapshots')).toBe(false);
  });
});
