import { Option } from 'commander';
import type { Command } from 'commander';
import type { Setting, SettingValues } from '../config/settings.ts';
import { flagOf } from '../config/settings.ts';

/** Declares each setting as a flag that falls back to its environment variable, then its default. */
export function addSettingOptions(command: Command, settings: readonly Setting[]): Command {
  for (const s of settings) {
    command.addOption(new Option(`${flagOf(s)} <value>`, s.description).env(s.env).default(s.default));
  }
  return command;
}

/** The parsed flags keyed by environment variable name, ready for validation. */
export function settingValues<S extends readonly Setting[]>(command: Command, settings: S): SettingValues<S> {
  const opts = command.opts<Record<string, string>>();
  const values: Record<string, string> = {};
  for (const s of settings) values[s.env] = opts[new Option(flagOf(s)).attributeName()] ?? s.default;
  return values as SettingValues<S>;
}
