/**
 * Where notebook output goes. Inside a tslab kernel the helpers in
 * src/notebook write Jupyter display messages; anywhere else (mocha, a plain
 * `node` script) they fall back to short console text, so the same notebook
 * code can be exercised outside Jupyter.
 *
 * tslab is detected without loading it: the kernel process has already
 * required `tslab/dist/jupyter.js`, and that module's `lastWriteDisplayData`
 * is set while a cell executes. Requiring `tslab` from a test would pull in its
 * own TypeScript compiler (seconds) for nothing, so we only look at
 * `require.cache`.
 *
 * ```ts
 * const capture = captureDisplay();          // tests: record instead of printing
 * showTable([{ a: 1 }]);
 * capture.outputs[0].bundle['text/html'];
 * capture.restore();
 * ```
 */

/** One output: MIME type -> payload (strings; JSON types may carry objects, as Jupyter allows). */
export type MimeBundle = { 'text/plain': string } & { [mime: string]: string | object };

/** A single output area; `update` replaces what this handle showed before. */
export interface OutputHandle {
  show(bundle: MimeBundle): void;
}

/** Something that can show outputs: a fresh area per call, or one updatable area. */
export interface DisplayBackend {
  readonly name: string;
  /** Appends a new output to the current cell. */
  show(bundle: MimeBundle): void;
  /** An output area that later `show` calls overwrite in place. */
  newHandle(): OutputHandle;
}

/** The subset of tslab's jupyter module we rely on (internal, but what tslab's public Display calls). */
interface TslabJupyterModule {
  lastWriteDisplayData: ((content: { data: Record<string, unknown>; metadata: Record<string, unknown>; transient: { display_id?: string } }, update: boolean) => void) | null;
}

function findTslabJupyter(): TslabJupyterModule | null {
  // `require` may be absent (ESM bundles); tslab cells are CommonJS, so absence means "not tslab".
  if (typeof require === 'undefined' || !require.cache) return null;
  for (const key of Object.keys(require.cache)) {
    if (!/[\\/]tslab[\\/]dist[\\/]jupyter\.js$/.test(key)) continue;
    const mod = require.cache[key]?.exports as Partial<TslabJupyterModule> | undefined;
    if (mod && 'lastWriteDisplayData' in mod) return mod as TslabJupyterModule;
  }
  return null;
}

let displayCounter = 0;
function newDisplayId(): string {
  displayCounter += 1;
  return `resad-${process.pid.toString(36)}-${Date.now().toString(36)}-${displayCounter}`;
}

/**
 * tslab backend. Uses the function tslab's own `Display.raw` calls, because
 * `Display.raw` sends one MIME type per message and only string payloads;
 * a bundle lets JupyterLab pick the Plotly JSON renderer while the classic
 * Notebook and nbconvert use the HTML.
 */
function tslabBackend(jupyter: TslabJupyterModule): DisplayBackend {
  const write = (bundle: MimeBundle, displayId: string | undefined, update: boolean): void => {
    const fn = jupyter.lastWriteDisplayData;
    if (!fn) {
      // Between cells (e.g. a timer firing after the cell ended) there is no target: print instead.
      console.log(bundle['text/plain']);
      return;
    }
    fn({ data: { ...bundle }, metadata: {}, transient: displayId ? { display_id: displayId } : {} }, update);
  };
  return {
    name: 'tslab',
    show: (bundle) => write(bundle, undefined, false),
    newHandle: () => {
      const id = newDisplayId();
      let shown = false;
      return {
        show(bundle: MimeBundle): void {
          write(bundle, id, shown);
          shown = true;
        },
      };
    },
  };
}

/** Fallback outside Jupyter: the text/plain part on stdout. */
export const CONSOLE_BACKEND: DisplayBackend = {
  name: 'console',
  show: (bundle) => console.log(bundle['text/plain']),
  newHandle: () => ({ show: (bundle: MimeBundle) => console.log(bundle['text/plain']) }),
};

let override: DisplayBackend | null = null;

/** The backend output goes to now: an override, else tslab when running in it, else the console. */
export function currentBackend(): DisplayBackend {
  if (override) return override;
  const jupyter = findTslabJupyter();
  return jupyter ? tslabBackend(jupyter) : CONSOLE_BACKEND;
}

/** True inside a tslab kernel (whether or not a cell is executing right now). */
export function inTslab(): boolean {
  return findTslabJupyter() !== null;
}

/** Routes all output to `backend` (null: back to auto-detection); returns the previous override. */
export function setDisplayBackend(backend: DisplayBackend | null): DisplayBackend | null {
  const previous = override;
  override = backend;
  return previous;
}

/** One recorded output; `displayId` groups the successive versions of an updatable area. */
export interface CapturedOutput {
  displayId: string | null;
  update: boolean;
  bundle: MimeBundle;
}

export interface DisplayCapture {
  readonly outputs: CapturedOutput[];
  /** Concatenated text/html of all outputs (handy for assertions). */
  html(): string;
  restore(): void;
}

/** Records outputs in memory until `restore()` (the test hook). */
export function captureDisplay(): DisplayCapture {
  const outputs: CapturedOutput[] = [];
  let handles = 0;
  const backend: DisplayBackend = {
    name: 'capture',
    show: (bundle) => outputs.push({ displayId: null, update: false, bundle }),
    newHandle: () => {
      const id = `capture-${++handles}`;
      let shown = false;
      return {
        show(bundle: MimeBundle): void {
          outputs.push({ displayId: id, update: shown, bundle });
          shown = true;
        },
      };
    },
  };
  const previous = setDisplayBackend(backend);
  return {
    outputs,
    html: () => outputs.map((o) => (typeof o.bundle['text/html'] === 'string' ? o.bundle['text/html'] : '')).join('\n'),
    restore: () => {
      if (override === backend) setDisplayBackend(previous);
    },
  };
}

export function escapeHtml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c] as string);
}

/** Shows raw HTML (with a text fallback for the console). */
export function showHtml(html: string, text = '[HTML output: run inside tslab to see it]'): void {
  currentBackend().show({ 'text/plain': text, 'text/html': html });
}

/** Shows Markdown (printed as-is outside Jupyter). */
export function showMarkdown(markdown: string): void {
  currentBackend().show({ 'text/plain': markdown, 'text/markdown': markdown });
}
