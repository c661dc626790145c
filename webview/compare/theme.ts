/** Colours from the VS Code theme (--vscode-* variables), so charts fit light, dark and high-contrast themes. */

const cssVar = (name: string, fallback: string): string => getComputedStyle(document.body).getPropertyValue(name).trim() || fallback;

export interface ChartTheme {
  foreground: string;
  grid: string;
  background: string;
  font: string;
  runColors: string[];
}

export function chartTheme(): ChartTheme {
  const fg = cssVar('--vscode-foreground', '#cccccc');
  return {
    foreground: fg,
    grid: cssVar('--vscode-editorWidget-border', cssVar('--vscode-panel-border', '#80808040')),
    background: cssVar('--vscode-editor-background', '#1e1e1e'),
    font: `${cssVar('--vscode-font-size', '12px')} ${cssVar('--vscode-font-family', 'sans-serif')}`,
    // The theme's chart palette first (what VS Code's own charts use), then fixed distinct hues for more runs.
    runColors: [
      cssVar('--vscode-charts-blue', '#3794ff'), cssVar('--vscode-charts-orange', '#d18616'), cssVar('--vscode-charts-green', '#89d185'),
      cssVar('--vscode-charts-red', '#f14c4c'), cssVar('--vscode-charts-purple', '#b180d7'), cssVar('--vscode-charts-yellow', '#cca700'),
      '#4ec9b0', '#ce9178', '#9cdcfe', '#c586c0', '#dcdcaa', '#6a9955',
    ],
  };
}

export const runColor = (t: ChartTheme, i: number): string => t.runColors[i % t.runColors.length];
