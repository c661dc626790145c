/**
 * The extension's settings, read and validated against the schema in package.json (contributes.configuration): a value
 * that does not fit is reported once (a warning naming the setting) and the setting's default is used instead.
 */
import * as vscode from 'vscode';
import manifest from '../../package.json';
import { type SettingSchema, settingProblem } from '../shared/setting-check';

const SCHEMAS = manifest.contributes.configuration.properties as Record<string, SettingSchema>;
const reported = new Set<string>();

/** The value of `hlip.<key>`, or its default when unset or invalid. */
export function setting<T>(key: string, scope?: vscode.ConfigurationScope): T {
  const schema = SCHEMAS[`hlip.${key}`];
  if (!schema) throw new Error(`hlip.${key} is not declared in package.json`);
  const value = vscode.workspace.getConfiguration('hlip', scope).get<unknown>(key);
  if (value === undefined) return schema.default as T;
  const problem = settingProblem(value, schema);
  if (!problem) return value as T;
  const once = `${key}=${JSON.stringify(value)}`;
  if (!reported.has(once)) {
    reported.add(once);
    const message = `HLIP: the setting hlip.${key} ${problem}; using its default, ${JSON.stringify(schema.default)}.`;
    void vscode.window.showWarningMessage(message, 'Open Settings').then((pick) => {
      if (pick) void vscode.commands.executeCommand('workbench.action.openSettings', `hlip.${key}`);
    });
  }
  return schema.default as T;
}
