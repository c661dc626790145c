/** The HLIP Runs view, its commands, and the Compare panel, wired to the model manager and the viewers. */
import { existsSync } from 'node:fs';
import { basename, join } from 'node:path';
import * as vscode from 'vscode';
import type { ClassificationController } from '../classification-controller';
import type { ModelManager } from '../model-manager';
import { ViewerSession } from '../session';
import { setting } from '../settings';
import { CheckpointEngine, convertCheckpoint } from './checkpoint-runner';
import { ComparePanel } from './compare-panel';
import { type RunsNode, RunsView } from './runs-view';
import { type EvaluationSpec, askSpec, checkpointsOf, evaluationDir } from './evaluate-checkpoints';

export interface RunsApi {
  view: RunsView;
  panels: () => ComparePanel[];
  onDidDraw: typeof ComparePanel.onDidDraw;
}

interface Scripts {
  workerScript: string;
  cliScript: string;
}

/** The file a node stands for: an epoch file, a checkpoint, a model folder, a run folder. */
function pathOf(n: RunsNode | undefined): string | undefined {
  if (!n) return undefined;
  if (n.kind === 'epoch') return n.epoch.path;
  if (n.kind === 'loose') return n.item.kind === 'model' ? n.item.dir : n.item.path;
  if (n.kind === 'run' || n.kind === 'group' || n.kind === 'setting') return n.run.dir;
  return undefined;
}

/** Checkpoints inside an untrusted workspace are converted only after the user agrees (as Import Checkpoint does). */
async function consent(paths: string[]): Promise<boolean> {
  const inside = paths.filter((p) => vscode.workspace.getWorkspaceFolder(vscode.Uri.file(p)));
  if (vscode.workspace.isTrusted || !inside.length) return true;
  const load = 'Load';
  const answer = await vscode.window.showWarningMessage(
    `${inside.map((p) => basename(p)).join(', ')} ${inside.length === 1 ? 'comes' : 'come'} from a workspace you have not trusted. Load ${inside.length === 1 ? 'it' : 'them'} anyway?`,
    { modal: true, detail: 'HLIP reads tensors only (pickled code is refused), but only load model files from sources you trust.' },
    load,
  );
  return answer === load;
}

/** The viewer to work on: the active one, the only one, or the user's pick. */
async function targetViewer(): Promise<ViewerSession | undefined> {
  const sessions = ViewerSession.sessions();
  const s = ViewerSession.active() ?? (sessions.length === 1 ? sessions[0] : undefined);
  if (s || !sessions.length) {
    if (!s) void vscode.window.showInformationMessage('HLIP: open a study in the viewer first.');
    return s;
  }
  const pick = await vscode.window.showQuickPick(sessions.map((x) => ({ label: basename(x.source.fsPath), description: x.source.fsPath, x })), { title: 'Which study?' });
  return pick?.x;
}

export function registerRuns(context: vscode.ExtensionContext, log: vscode.LogOutputChannel, models: ModelManager, classification: ClassificationController, scripts: Scripts): { api: RunsApi; disposables: vscode.Disposable[] } {
  const view = new RunsView(log);
  const tree = vscode.window.createTreeView('hlip.runs', { treeDataProvider: view, canSelectMany: true, showCollapseAll: true });
  view.visible = tree.visible;
  tree.onDidChangeVisibility((e) => (view.visible = e.visible));
  const title = (n: number, what: string) => `Compare ${n} ${what}`;

  /** Runs picked in the view (a multi-selection), else asked for. */
  async function pickRuns(node?: RunsNode, selected?: readonly RunsNode[]): Promise<string[] | undefined> {
    const chosen = (selected?.length ? selected : node ? [node] : tree.selection).filter((n) => n.kind === 'run').map((n) => (n as { run: { dir: string } }).run.dir);
    if (chosen.length >= 2) return chosen;
    const runs = (await view.current()).runs;
    const picks = await vscode.window.showQuickPick(
      runs.map((r) => ({ label: r.name, description: [r.modality?.toUpperCase(), r.model].filter(Boolean).join(' · '), detail: r.dir, picked: chosen.includes(r.dir), dir: r.dir })),
      { canPickMany: true, title: 'Runs to compare (two or more)' },
    );
    return picks && picks.length >= 1 ? picks.map((p) => p.dir) : undefined;
  }

  async function pickCheckpoints(node?: RunsNode, selected?: readonly RunsNode[]): Promise<string[] | undefined> {
    const chosen = (selected?.length ? selected : node ? [node] : tree.selection).filter((n) => n.kind === 'epoch' || n.kind === 'loose').map((n) => pathOf(n)!);
    if (chosen.length >= 2) return chosen;
    const d = await view.current();
    type Item = vscode.QuickPickItem & { path?: string };
    const items: Item[] = [
      ...d.runs.flatMap((r) => r.epochs.filter((e) => e.complete).map((e): Item => ({ label: `${r.name} ${e.kind === 'epoch' ? `epoch ${e.epoch}` : e.fileName}`, description: e.latest ? 'latest' : undefined, path: e.path, picked: chosen.includes(e.path) }))),
      ...d.checkpoints.map((c): Item => ({ label: c.name, description: c.path, path: c.path, picked: chosen.includes(c.path) })),
      ...d.models.map((m): Item => ({ label: m.name, description: m.dir, path: m.dir, picked: chosen.includes(m.dir) })),
      { label: '$(file-add) Other checkpoint files...', alwaysShow: true },
    ];
    const picks = await vscode.window.showQuickPick(items, { canPickMany: true, title: 'Checkpoints to compare on this study (two or more)' });
    if (!picks) return undefined;
    const paths = picks.filter((p) => p.path).map((p) => p.path!);
    if (picks.some((p) => !p.path)) {
      const files = await vscode.window.showOpenDialog({ canSelectMany: true, title: 'Checkpoint files', filters: { Checkpoints: ['pt', 'pth', 'safetensors', 'bin', 'ckpt'] } });
      paths.push(...(files ?? []).map((f) => f.fsPath));
    }
    return paths;
  }

  async function compareRuns(node?: RunsNode, selected?: readonly RunsNode[]): Promise<ComparePanel | undefined> {
    const dirs = Array.isArray(node) ? (node as string[]) : await pickRuns(node, selected);
    if (!dirs?.length) return undefined;
    const panel = ComparePanel.create(context.extensionUri, view, log, title(dirs.length, 'runs'));
    await panel.showRuns(dirs);
    return panel;
  }

  async function compareCheckpoints(node?: RunsNode | string[], selected?: readonly RunsNode[]): Promise<ComparePanel | undefined> {
    const session = await targetViewer();
    if (!session) return undefined;
    const paths = Array.isArray(node) ? node : await pickCheckpoints(node, selected);
    if (!paths) return undefined;
    if (paths.length < 2) {
      void vscode.window.showInformationMessage('HLIP: pick two or more checkpoints to compare.');
      return undefined;
    }
    if (!(await consent(paths))) return undefined;
    const panel = ComparePanel.create(context.extensionUri, view, log, title(paths.length, 'checkpoints'));
    const engine = await CheckpointEngine.start(models, scripts.workerScript, scripts.cliScript, log);
    await panel.compareOnStudy(session, paths, engine);
    return panel;
  }

  /** "Classify the active study with this epoch": convert it (cached), make it the model, classify the viewer. */
  async function classifyWithEpoch(node?: RunsNode): Promise<unknown> {
    const path = pathOf(node);
    const session = await targetViewer();
    if (!path || !session || !(await consent([path]))) return undefined;
    const entry = await vscode.window.withProgress(
      { location: vscode.ProgressLocation.Notification, title: `HLIP: converting ${basename(path)}`, cancellable: true },
      async (progress, token) => {
        const abort = new AbortController();
        token.onCancellationRequested(() => abort.abort());
        return convertCheckpoint(models, scripts.cliScript, path, (s) => progress.report({ message: s }), abort.signal);
      },
    ).then(undefined, (e: Error) => {
      void vscode.window.showErrorMessage(`HLIP: cannot use ${basename(path)}: ${e.message}`);
      return undefined;
    });
    if (!entry) return undefined;
    await models.setActive(entry);
    return (await classification.classify(session))?.results;
  }

  /**
   * "Evaluate Checkpoints": epochs or runs picked in the view (or asked for), data and labels asked for (tests pass a
   * spec), `hlip eval` in a child process, results in a Compare panel next to the runs' logged metrics.
   */
  async function evaluateCheckpoints(node?: RunsNode | Partial<EvaluationSpec>, selected?: readonly RunsNode[]): Promise<ComparePanel | undefined> {
    const given = node && !('kind' in node) ? node : {};
    const nodes = selected?.length ? selected : node && 'kind' in node ? [node] : tree.selection;
    const picked = checkpointsOf(nodes);
    const spec = await askSpec(view, picked, given);
    if (!spec || !(await consent(spec.paths))) return undefined;
    const listed = new Set((await view.current()).runs.map((r) => r.dir));
    const runDirs = [...new Set([...picked.runDirs, ...spec.paths.map((p) => /^(.*)[\\/]checkpoints[\\/][^\\/]+$/.exec(p)?.[1]).filter((d): d is string => !!d && (listed.has(d) || existsSync(join(d, 'params.txt'))))])];
    const out = evaluationDir(context.globalStorageUri.fsPath, spec);
    const args = [...spec.paths.flatMap((p) => ['--model', p]), '--data', spec.data, '--labels', spec.labels, '--set', spec.set, '--layout', spec.layout, '--out', out, '--cache', models.catalogue.root];
    if (spec.vocab) args.push('--vocab', spec.vocab);
    const eps = setting<string[]>('executionProviders');
    if (eps?.length) args.push('--ep', eps.join(','));
    const panel = ComparePanel.create(context.extensionUri, view, log, `Evaluation: ${spec.set}`);
    if (runDirs.length) await panel.showRuns(runDirs);
    let engine: Promise<CheckpointEngine> | undefined;
    await panel.evaluate(spec, scripts.cliScript, args, out, () => (engine ??= CheckpointEngine.start(models, scripts.workerScript, scripts.cliScript, log)));
    return panel;
  }

  const open = (file: 'params.txt' | 'out.log') => async (node?: RunsNode) => {
    const n = node ?? tree.selection[0];
    const run = n && 'run' in n ? n.run : undefined;
    if (!run) return;
    const p = file === 'params.txt' ? run.paramsPath : run.logPath;
    if (!p) return void vscode.window.showInformationMessage(`HLIP: ${run.name} has no ${file}.`);
    await vscode.window.showTextDocument(vscode.Uri.file(p), { preview: true });
  };

  const disposables: vscode.Disposable[] = [
    view,
    tree,
    vscode.commands.registerCommand('hlip.runs.refresh', () => view.refresh()),
    vscode.commands.registerCommand('hlip.runs.compare', compareRuns),
    vscode.commands.registerCommand('hlip.compareCheckpoints', compareCheckpoints),
    vscode.commands.registerCommand('hlip.runs.classifyWithEpoch', classifyWithEpoch),
    vscode.commands.registerCommand('hlip.evaluateCheckpoints', evaluateCheckpoints),
    vscode.commands.registerCommand('hlip.runs.openParams', open('params.txt')),
    vscode.commands.registerCommand('hlip.runs.openLog', open('out.log')),
    vscode.commands.registerCommand('hlip.runs.copyPath', async (node?: RunsNode) => {
      const p = pathOf(node ?? tree.selection[0]);
      if (p) await vscode.env.clipboard.writeText(p);
    }),
    vscode.commands.registerCommand('hlip.runs.addFolder', async () => {
      const picked = await vscode.window.showOpenDialog({ canSelectFolders: true, canSelectFiles: false, canSelectMany: true, title: 'Logs folders with training runs' });
      if (!picked?.length) return;
      const cfg = vscode.workspace.getConfiguration('hlip');
      const now = cfg.get<string[]>('runFolders') ?? [];
      await cfg.update('runFolders', [...new Set([...now, ...picked.map((u) => u.fsPath)])], vscode.ConfigurationTarget.Global);
    }),
  ];
  return { api: { view, panels: () => ComparePanel.panels(), onDidDraw: ComparePanel.onDidDraw }, disposables };
}
