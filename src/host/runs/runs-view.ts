/**
 * The "HLIP Runs" view: training runs found in the workspace folders and in the setting `hlip.runFolders` (logs
 * folders, run folders, checkpoint files, model folders), watched so a new epoch file or results.jsonl line shows up
 * while a run trains. Run -> settings, what the weights say, problems, epochs (size, date, latest, half-written).
 * Listing reads params.txt, results.jsonl, the tail of out.log and the last KiB of each epoch file; the weights are
 * described (zip directory + data.pkl, never the storages) only when a run's Weights node is opened.
 */
import { basename } from 'node:path';
import * as vscode from 'vscode';
import { describeWeights, discover, lastResults, newestComplete, weightsSummary, type Discovery, type LooseCheckpoint, type ModelFolder, type Run, type WeightsInfo } from '../../runs';
import type { EpochFile, RunProblem, Setting } from '../../runs/types';
import { setting } from '../settings';

export type RunsNode =
  | { kind: 'run'; run: Run }
  | { kind: 'group'; run: Run; group: 'settings' | 'weights' | 'problems' }
  | { kind: 'setting'; run: Run; setting: Setting }
  | { kind: 'weights'; run: Run; label: string; detail?: string }
  | { kind: 'problem'; problem: RunProblem }
  | { kind: 'epoch'; run: Run; epoch: EpochFile }
  | { kind: 'loose'; item: LooseCheckpoint | ModelFolder }
  | { kind: 'message'; text: string };

const mib = (n: number) => (n >= 2 ** 30 ? `${(n / 2 ** 30).toFixed(2)} GiB` : `${(n / 2 ** 20).toFixed(1)} MiB`);
const when = (ms: number) => new Date(ms).toLocaleString(undefined, { month: 'short', day: 'numeric', hour: '2-digit', minute: '2-digit' });
const fmt = (v: number) => (Number.isInteger(v) ? String(v) : Math.abs(v) >= 100 ? v.toFixed(1) : v.toPrecision(4));

/** Settings worth seeing first (the rest follow alphabetically). */
/** Re-read interval while the view is visible, for changes no file event reports. */
const POLL_MS = 30_000;

const KEY_SETTINGS = ['model', 'force_patch_dropout', 'num_scans', 'epochs', 'batch_size', 'accum_batch', 'lr', 'wd', 'warmup', 'precision'];

export class RunsView implements vscode.TreeDataProvider<RunsNode>, vscode.Disposable {
  private readonly changed = new vscode.EventEmitter<RunsNode | undefined>();
  readonly onDidChangeTreeData = this.changed.event;
  /** Fires after each discovery (tests, the compare panel's live update). */
  private readonly refreshed = new vscode.EventEmitter<Discovery>();
  readonly onDidRefresh = this.refreshed.event;
  private discovery?: Promise<Discovery>;
  private readonly weights = new Map<string, Promise<WeightsInfo | string>>();
  private watchers: vscode.Disposable[] = [];
  private timer?: ReturnType<typeof setTimeout>;
  private readonly disposables: vscode.Disposable[] = [];
  /** Last listing time (ms), for the benchmark and the log. */
  lastListingMs = 0;

  constructor(private readonly log: vscode.LogOutputChannel) {
    this.disposables.push(
      this.changed,
      this.refreshed,
      vscode.workspace.onDidChangeWorkspaceFolders(() => this.rewatch()),
      vscode.workspace.onDidChangeConfiguration((e) => e.affectsConfiguration('hlip.runFolders') && this.rewatch()),
    );
    this.rewatch();
    // Runs often live on network file systems (NFS, Lustre) whose writes from other machines raise no file events:
    // re-read now and then as well (a listing reads a few KiB per run).
    this.poll = setInterval(() => this.visible && this.refresh(), POLL_MS);
  }

  /** Whether the view is on screen (set by the tree view; polling only then). */
  visible = false;
  private readonly poll: ReturnType<typeof setInterval>;

  /** Workspace folders and hlip.runFolders (absolute, or relative to the first workspace folder). */
  roots(): string[] {
    const ws = vscode.workspace.workspaceFolders ?? [];
    const extra = setting<string[]>('runFolders');
    const base = ws[0]?.uri;
    const resolved = extra.filter((p) => typeof p === 'string' && p.trim()).map((p) => (p.startsWith('/') || /^[A-Za-z]:[\\/]/.test(p) || !base ? p : vscode.Uri.joinPath(base, p).fsPath));
    return [...new Set([...ws.map((f) => f.uri.fsPath), ...resolved])];
  }

  private rewatch(): void {
    this.watchers.forEach((w) => w.dispose());
    this.watchers = [];
    for (const root of this.roots()) {
      // The files a training run writes: a new epoch, an appended results line, params of a new run.
      const w = vscode.workspace.createFileSystemWatcher(new vscode.RelativePattern(vscode.Uri.file(root), '**/{params.txt,out.log,results.jsonl,*.pt,*.safetensors,open_clip_config.json}'));
      const soon = (uri: vscode.Uri) => (basename(uri.fsPath) === 'out.log' ? this.refreshSoon(5000) : this.refreshSoon());
      w.onDidCreate(soon);
      w.onDidChange(soon);
      w.onDidDelete(soon);
      this.watchers.push(w);
    }
    this.refresh();
  }

  /** Coalesces bursts (a checkpoint being written fires many change events). */
  refreshSoon(delay = 400): void {
    if (this.timer) return;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.refresh();
    }, delay);
  }

  refresh(): Promise<Discovery> {
    const t0 = performance.now();
    const p = discover(this.roots());
    this.discovery = p;
    void p.then(
      (d) => {
        if (this.discovery !== p) return;
        this.lastListingMs = performance.now() - t0;
        this.log.info(`Runs: ${d.runs.length} runs, ${d.checkpoints.length} checkpoints, ${d.models.length} model folders in ${this.lastListingMs.toFixed(0)} ms`);
        this.changed.fire(undefined);
        this.refreshed.fire(d);
      },
      (e) => this.log.error(`Runs: listing failed: ${e instanceof Error ? e.message : String(e)}`),
    );
    return p;
  }

  /** The current listing (waits for one in progress). */
  current(): Promise<Discovery> {
    return this.discovery ?? this.refresh();
  }

  /** What the newest complete epoch's weights say (cached per file version); a sentence when they cannot be read. */
  weightsOf(run: Run): Promise<WeightsInfo | string> {
    const e = newestComplete(run);
    if (!e) return Promise.resolve('No complete epoch file to read the weights from.');
    const key = `${e.path}:${e.size}:${e.mtimeMs}`;
    let p = this.weights.get(key);
    if (!p) {
      p = describeWeights(e.path, run.model).catch((err: Error) => err.message);
      this.weights.set(key, p);
    }
    return p;
  }

  getTreeItem(n: RunsNode): vscode.TreeItem {
    switch (n.kind) {
      case 'run': {
        const r = n.run;
        const epochs = r.epochs.filter((e) => e.kind === 'epoch').length;
        const last = lastResults(r);
        const metric = last && Object.entries(last.metrics).find(([k]) => /auc|acc/i.test(k));
        const item = new vscode.TreeItem(r.name, vscode.TreeItemCollapsibleState.Collapsed);
        item.id = `run:${r.dir}`;
        item.description = [r.modality?.toUpperCase(), `${epochs} epoch${epochs === 1 ? '' : 's'}`, metric && `${metric[0]} ${fmt(metric[1])} @${last!.epoch}`].filter(Boolean).join(' · ');
        item.tooltip = new vscode.MarkdownString(`**${r.name}**\n\n${r.dir}\n\n${r.model ?? 'model unknown'}${r.problems.length ? `\n\n$(warning) ${r.problems.map((p) => p.message).join('\n\n')}` : ''}`, true);
        item.iconPath = new vscode.ThemeIcon(r.problems.some((p) => p.code !== 'NO_CHECKPOINTS') ? 'warning' : 'pulse');
        item.contextValue = 'hlip.run';
        item.resourceUri = vscode.Uri.file(r.dir);
        return item;
      }
      case 'group': {
        const labels = { settings: 'Settings', weights: 'Weights', problems: 'Problems' };
        const item = new vscode.TreeItem(labels[n.group], vscode.TreeItemCollapsibleState.Collapsed);
        item.id = `${n.group}:${n.run.dir}`;
        item.iconPath = new vscode.ThemeIcon({ settings: 'settings-gear', weights: 'symbol-structure', problems: 'warning' }[n.group]);
        if (n.group === 'settings') item.description = `${n.run.settings.size} from params.txt`;
        if (n.group === 'problems') item.description = String(n.run.problems.length);
        return item;
      }
      case 'setting': {
        const item = new vscode.TreeItem(n.setting.key);
        item.description = n.setting.raw;
        item.tooltip = `${n.setting.key}: ${n.setting.raw} (params.txt line ${n.setting.line})`;
        item.contextValue = 'hlip.setting';
        return item;
      }
      case 'weights': {
        const item = new vscode.TreeItem(n.label);
        item.description = n.detail;
        return item;
      }
      case 'problem': {
        const item = new vscode.TreeItem(n.problem.message);
        item.iconPath = new vscode.ThemeIcon('warning');
        item.tooltip = `${n.problem.code}${n.problem.file ? `: ${n.problem.file}` : ''}${n.problem.line ? `:${n.problem.line}` : ''}`;
        return item;
      }
      case 'epoch': {
        const e = n.epoch;
        const label = e.kind === 'epoch' ? `epoch ${e.epoch}` : e.fileName;
        const item = new vscode.TreeItem(label);
        item.id = `epoch:${e.path}`;
        item.description = [e.latest && e.kind === 'epoch' ? 'latest' : undefined, mib(e.size), when(e.mtimeMs), e.complete ? undefined : 'incomplete'].filter(Boolean).join(' · ');
        item.tooltip = `${e.path}${e.complete ? '' : `\n${e.incompleteReason}`}`;
        item.iconPath = new vscode.ThemeIcon(e.complete ? (e.latest ? 'star-full' : 'file-binary') : 'loading~spin');
        item.contextValue = e.complete ? 'hlip.epoch' : 'hlip.epoch.incomplete';
        item.resourceUri = vscode.Uri.file(e.path);
        return item;
      }
      case 'loose': {
        const x = n.item;
        const path = x.kind === 'model' ? x.dir : x.path;
        const item = new vscode.TreeItem(x.name);
        item.id = `loose:${path}`;
        item.description = `${x.kind === 'model' ? 'model folder' : 'checkpoint'} · ${mib(x.size)}`;
        item.tooltip = path;
        item.iconPath = new vscode.ThemeIcon(x.kind === 'model' ? 'package' : 'file-binary');
        item.contextValue = 'hlip.epoch';
        item.resourceUri = vscode.Uri.file(path);
        return item;
      }
      case 'message':
        return new vscode.TreeItem(n.text);
    }
  }

  async getChildren(n?: RunsNode): Promise<RunsNode[]> {
    if (!n) {
      const d = await this.current();
      const out: RunsNode[] = [
        ...d.runs.map((run): RunsNode => ({ kind: 'run', run })),
        ...d.models.map((item): RunsNode => ({ kind: 'loose', item })),
        ...d.checkpoints.map((item): RunsNode => ({ kind: 'loose', item })),
        ...d.problems.map((problem): RunsNode => ({ kind: 'problem', problem })),
      ];
      return out; // empty: the view's welcome text (package.json viewsWelcome) offers Add Logs Folder
    }
    switch (n.kind) {
      case 'run':
        return [
          { kind: 'group', run: n.run, group: 'settings' },
          { kind: 'group', run: n.run, group: 'weights' },
          ...(n.run.problems.length ? [{ kind: 'group', run: n.run, group: 'problems' } as RunsNode] : []),
          ...n.run.epochs.map((epoch): RunsNode => ({ kind: 'epoch', run: n.run, epoch })),
        ];
      case 'group':
        if (n.group === 'problems') return n.run.problems.map((problem) => ({ kind: 'problem', problem }));
        if (n.group === 'settings') {
          const s = [...n.run.settings.values()];
          const rank = (k: string) => (KEY_SETTINGS.includes(k) ? KEY_SETTINGS.indexOf(k) : KEY_SETTINGS.length);
          s.sort((a, b) => rank(a.key) - rank(b.key) || a.key.localeCompare(b.key));
          return s.map((setting) => ({ kind: 'setting', run: n.run, setting }));
        }
        return this.weightNodes(n.run);
      default:
        return [];
    }
  }

  private async weightNodes(run: Run): Promise<RunsNode[]> {
    // The reader never runs pickled code, but files of an untrusted workspace are read only with the user's say-so.
    if (!vscode.workspace.isTrusted && vscode.workspace.getWorkspaceFolder(vscode.Uri.file(run.dir))) {
      return [{ kind: 'message', text: 'Not read in Restricted Mode: trust the workspace to read the weights.' }];
    }
    const w = await this.weightsOf(run);
    if (typeof w === 'string') return [{ kind: 'message', text: w }];
    const v = w.visual;
    const rows: [string, string | undefined][] = [['summary', weightsSummary(w)], ['read from', `${basename(w.path)}${w.epoch !== undefined ? ` (epoch ${w.epoch})` : ''}`]];
    if (v) {
      rows.push(
        ['variant', v.variant], ['pooling', v.pool === 'dinotxt' ? 'DINO.txt' : 'CLS token'], ['patch size', v.patchSize.join(' x ')],
        ['sequence embedding', v.sequenceEmbedding > 1 ? `${v.sequenceEmbedding} scans` : 'none'], ['RoPE', v.rope ? 'yes' : 'no'],
        ['register tokens', String(v.registerTokens)], ['depth x width', `${v.depth} x ${v.width} (${v.heads} head${v.heads === 1 ? '' : 's'})`], ['embedding', String(v.embedDim)],
      );
    }
    if (w.text) rows.push(['text tower', `${w.text.layers} layers x ${w.text.hidden}, vocabulary ${w.text.vocabSize}`]);
    rows.push(['parameters', `${(w.parameters / 1e6).toFixed(1)} M${w.hasOptimizer ? ' (+ optimizer state in the file)' : ''}`]);
    return [...rows.map(([label, detail]): RunsNode => ({ kind: 'weights', run, label, detail })), ...w.warnings.map((text): RunsNode => ({ kind: 'problem', problem: { code: 'WEIGHTS', message: text } }))];
  }

  getParent(): undefined {
    return undefined;
  }

  dispose(): void {
    clearTimeout(this.timer);
    clearInterval(this.poll);
    this.watchers.forEach((w) => w.dispose());
    this.disposables.forEach((d) => d.dispose());
  }
}
