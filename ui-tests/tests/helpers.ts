/**
 * What the UI tests share: a notebook written from cells, and screenshots
 * into test-results/screenshots.
 */
import { Page } from '@playwright/test';
import * as path from 'path';

const SCREENSHOTS = path.join(__dirname, '..', 'test-results', 'screenshots');

export function notebook(cells: { source: string; tags?: string[] }[]): string {
  return JSON.stringify({
    cells: cells.map(cell => ({
      cell_type: 'code',
      execution_count: null,
      metadata: cell.tags ? { tags: cell.tags } : {},
      outputs: [],
      source: cell.source
    })),
    metadata: {
      kernelspec: {
        display_name: 'Python 3 (ipykernel)',
        language: 'python',
        name: 'python3'
      },
      language_info: { name: 'python' }
    },
    nbformat: 4,
    nbformat_minor: 5
  });
}

export async function shot(page: Page, name: string): Promise<void> {
  await page.screenshot({ path: path.join(SCREENSHOTS, `${name}.png`) });
}
