/** `hlip runtime`: execution providers this machine can load, the one in use and why not the others, the model cache. */
import { runtimeInfo } from '../hlip/inference/runtime-info';
import { formatRuntimeInfo } from '../hlip/inference/runtime-report';
import { ModelCatalogue } from '../hlip/models/model-catalogue';
import { folderSize } from '../shared/folder-size';
import type { CliOptions } from './options';

export async function runtimeCommand(o: CliOptions, out: (s: string) => void): Promise<number> {
  const info = await runtimeInfo(o.ep);
  info.cache = { dir: o.cache, bytes: folderSize(o.cache), models: (await new ModelCatalogue(o.cache).list()).length };
  out(o.json ? JSON.stringify(info, null, 2) : formatRuntimeInfo(info));
  return 0;
}
