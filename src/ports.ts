/** The interfaces the core needs from the outside world; adapters implement them. */
import type { DnsTable } from './model/dns.js';
import type { DirectorySnapshot, EntryKind } from './model/snapshot.js';
import type { TemplateSource } from './render/types.js';
import type { DiskFile } from './plan/plan-changes.js';

/** Where the directory comes from (LDIF files, LDAP). */
export interface DirectorySource {
  /** A short description for messages, e.g. `ldif:fixtures/example/directory.ldif`. */
  readonly description: string;
  /**
   * The directory's entries of these kinds (default: every kind); the other lists are empty.
   * With `attributes`, each entry holds only those (names compared case-insensitively; an LDAP
   * search asks the server for them alone).
   */
  load(kinds?: readonly EntryKind[], attributes?: readonly string[]): Promise<DirectorySnapshot>;
}

/** Reads the templates of a directory. */
export interface TemplateStore {
  /** Every `<prefix>.template`, `<prefix>.*.template` and `….template.hbs` file of the directory. */
  readTemplates(dir: string, templatePrefix: string): Promise<TemplateSource[]>;
}

/** Reads and writes generated files. */
export interface FileStore {
  /** The file's text, or undefined when it does not exist. */
  read(path: string): Promise<string | undefined>;
  /** Every file's text (undefined where it does not exist). */
  readMany(paths: readonly string[]): Promise<Map<string, string | undefined>>;
  /** Writes atomically (temp file in the same directory, then rename), with the mode set first. */
  write(path: string, content: string, mode: number): Promise<void>;
  /** Writes many files, each atomically, syncing each directory once at the end. */
  writeMany(
    files: readonly { path: string; content: string; mode: number; gid?: number | undefined }[],
  ): Promise<void>;
  exists(path: string): Promise<boolean>;
  /**
   * Each planned file's current text, as readMany, except that a file the manifest at
   * `manifestPath` vouches for (unchanged since it was written, same content hash as planned) is
   * not read: its planned text is returned. Optional: without it, callers use readMany.
   */
  readPlanned?(
    planned: readonly { path: string; content: string }[],
    manifestPath: string,
  ): Promise<Map<string, string | undefined>>;
  /** Records every planned file in the manifest after writeMany (skipped when nothing changed). */
  recordPlanned?(
    planned: readonly { path: string; content: string }[],
    manifestPath: string,
  ): Promise<void>;
}

/** Resolves host names to addresses. */
export interface HostResolver {
  resolve(names: readonly string[]): Promise<DnsTable>;
}

/** One change to one attribute of an entry (LDAP modify semantics). */
export interface AttributeChange {
  /**
   * `replace`: the attribute gets exactly `values` (none: it is removed); `add`: `values` are
   * added (zmprov `+attr`); `delete`: `values` are removed (zmprov `-attr`), or the whole
   * attribute when `values` is empty.
   */
  operation: 'replace' | 'add' | 'delete';
  attribute: string;
  values: readonly string[];
}

/** The changes to one entry, applied together. */
export interface EntryModification {
  dn: string;
  changes: readonly AttributeChange[];
}

/** A new entry: its DN and every attribute (objectClass included). */
export interface EntryAddition {
  dn: string;
  attributes: Readonly<Record<string, readonly string[]>>;
  /** A parent created only when missing (the `dc=` entries above a new domain). */
  ifMissing?: boolean;
}

/** A directory that can be changed too (zmprov, zmproxyconfig): LDAP, or an LDIF file. */
export interface DirectoryStore extends DirectorySource {
  /** Applies every modification, or none of them when one is refused. */
  modify(modifications: readonly EntryModification[]): Promise<void>;
  /** Adds new entries (zmprov cs); refuses one whose DN exists. */
  add?(entries: readonly EntryAddition[]): Promise<void>;
  /** Releases connections. */
  close(): Promise<void>;
}

/**
 * Says why nginx may not load the shared object at `path` (`load_module`), or undefined when it
 * may: the file and its directories must be root's and writable by no one else (src/reload/module-trust.ts).
 */
export type ModuleTrust = (path: string) => Promise<string | undefined>;

/** What `nginx -t` said about a configuration. */
export interface NginxTestResult {
  ok: boolean;
  /** nginx's own messages (stderr), trimmed. */
  output: string;
  /** The test did not finish within its timeout and was killed. */
  timedOut: boolean;
}

/** nginx as the rewrite loop and zmproxyctl drive it (src/reload/). */
export interface NginxControl {
  /** Runs `nginx -t` on a main configuration file; a failing test is a result, not an error. */
  test(confFile: string): Promise<NginxTestResult>;
  /** The master's pid when nginx runs (a live pid in `pidFile`), else undefined. */
  masterPid(pidFile: string): Promise<number | undefined>;
  /** Asks the master to reload its configuration (SIGHUP). */
  reload(pid: number): Promise<void>;
  /**
   * The generation id nginx serves at its generation marker (`GET /zmproxy-generation` on
   * `listen`, i.e. `stock.generation.listen`), or undefined when nothing answers there.
   */
  servedGeneration(listen: string): Promise<string | undefined>;
  /** A bookmark in an error log (its current size; 0 when it does not exist). */
  errorLogMark(logFile: string): Promise<number>;
  /** The `[emerg]` lines the error log gained since `mark`. */
  errorsSince(logFile: string, mark: number): Promise<string[]>;
  /**
   * CPU time (clock ticks, user + system) the master has used, or undefined when it cannot be
   * read: while it grows, the master is still reading a configuration (a slow reload).
   */
  masterCpuTicks(pid: number): Promise<number | undefined>;
}

/** One file of a generation, its path relative to the generation directory. */
export interface GenerationFile {
  path: string;
  content: string;
  mode: number;
  /** Group id the file is given (see PlannedFile.gid). */
  gid?: number | undefined;
}

/** What a generation directory records about itself (`zmproxy-generation.json`). */
export interface GenerationMeta {
  id: string;
  /** sha256 over every file's path, mode and content (the marker file excluded). */
  hash: string;
  /** Epoch milliseconds. */
  createdAt: number;
  server: string;
  /** Sizes of the guarded lists (lookup handlers, upstream servers), by name. */
  counts: Record<string, number>;
  /** Where this generation's marker answers (`stock.generation.listen`); absent: no marker. */
  markerListen?: string | undefined;
  /** The directory revision rendered: `csn:<contextCSN>` or `hash:<directory hash prefix>`. */
  revision?: string | undefined;
  /** Hash of the global config, servers and domains as loaded: equal on every proxy of a directory. */
  directoryHash?: string | undefined;
}

/** The generation directories of `--apply` and the `current` symlink (src/reload/). */
export interface GenerationStore {
  /** The id `current` points at, or undefined when there is none yet. */
  current(): Promise<string | undefined>;
  /** Every generation id on disk, in ascending order. */
  list(): Promise<string[]>;
  readMeta(id: string): Promise<GenerationMeta | undefined>;
  /**
   * Every file of a generation (its own marker, meta and manifest excluded), by relative path:
   * its text, or only its content hash where the generation's manifest vouches for the file.
   */
  readFiles(id: string): Promise<Map<string, DiskFile & { mode: number }>>;
  /**
   * Writes a complete generation directory (files, marker, meta), fsynced, invisible to nginx
   * until {@link GenerationStore.switchTo}; returns the absolute path of its main file.
   */
  stage(
    id: string,
    files: readonly GenerationFile[],
    marker: string,
    meta: GenerationMeta,
  ): Promise<string>;
  /** Points `current` at a generation with one rename(2) of a temp symlink, then fsyncs. */
  switchTo(id: string): Promise<void>;
  remove(id: string): Promise<void>;
}

/** An exclusive lock between runs (cron and daemon alike). */
export interface RunLock {
  /**
   * Takes the lock, waiting up to `waitMs` for a live holder to let go (a dead holder's lock is
   * broken); returns the release function, or the holder's description when it stayed locked.
   */
  acquire(waitMs: number): Promise<{ release: () => Promise<void> } | { holder: string }>;
}

/** Persistent counters and timestamps of the rewrite loop (a JSON file next to the generations). */
export interface ApplyStateStore {
  read(): Promise<ApplyState>;
  write(state: ApplyState): Promise<void>;
}

/** What survives between runs: the minimum reload interval and the Prometheus counters. */
export interface ApplyState {
  /** Epoch ms of the last reload (or switch when nginx was not running). */
  lastReloadAt?: number | undefined;
  lastSuccessAt?: number | undefined;
  lastRunAt?: number | undefined;
  lastResult?: string | undefined;
  configHash?: string | undefined;
  generation?: string | undefined;
  runs: number;
  reloads: number;
  reloadFailures: number;
  validationFailures: number;
  guardRefusals: number;
  directoryFailures: number;
  /** Durations of the last run's phases in seconds, by phase. */
  durations: Record<string, number>;
  /**
   * Milliseconds the last successful `nginx -t` took: a reload costs about as much in the master,
   * so the confirmation waits in proportion (a run that tests nothing reuses it).
   */
  lastTestMs?: number | undefined;
}

/** The state before the first run (and after a damaged state file): every counter at 0. */
export const EMPTY_APPLY_STATE: Readonly<ApplyState> = {
  runs: 0,
  reloads: 0,
  reloadFailures: 0,
  validationFailures: 0,
  guardRefusals: 0,
  directoryFailures: 0,
  durations: {},
};

/** Time, injectable so that loops and intervals are testable. */
export interface Clock {
  now(): number;
  /** Resolves after `ms`, or early (without error) when `signal` aborts. */
  sleep(ms: number, signal?: AbortSignal): Promise<void>;
}
