#!/usr/bin/env python3
"""Executes notebooks through real Jupyter (nbclient + the resad tslab kernel).

`npm test` already runs every notebook through tslab's executor in-process;
this runs them the way a user's Jupyter does (separate kernel process, tslab's
own module loader), which catches what the in-process run cannot. Prints the
failing cell's source and the kernel's real error output (nbconvert prints
only "<Error>:"). Usage (Debian's python3 with python3-nbclient):

    RESAD_NOTEBOOK_SMOKE=1 /usr/bin/python3 scripts/execute-notebooks.py notebooks/*.ipynb [--html-dir DIR] [--timeout S]

--timeout: seconds one cell may run (default 900; 0 = no limit, e.g. all of Table 2's ablations).
"""
import os
import sys

import nbformat
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError


def main(argv):
    html_dir = None
    if '--html-dir' in argv:
        i = argv.index('--html-dir')
        html_dir = argv[i + 1]
        argv = argv[:i] + argv[i + 2:]
    timeout = 900
    if '--timeout' in argv:
        i = argv.index('--timeout')
        timeout = int(argv[i + 1])
        argv = argv[:i] + argv[i + 2:]
    failed = 0
    for path in argv:
        nb = nbformat.read(path, as_version=4)
        client = NotebookClient(nb, timeout=timeout if timeout > 0 else None, kernel_name='resad-tslab',
                                resources={'metadata': {'path': os.path.dirname(os.path.abspath(path))}})
        try:
            client.execute()
            print(f'ok      {path}')
        except CellExecutionError as err:
            failed += 1
            print(f'FAILED  {path}\n{err}')
            for cell in nb.cells:
                for out in cell.get('outputs', []):
                    if out.get('output_type') == 'stream' and out.get('name') == 'stderr':
                        print(out.get('text', '')[-3000:])
        if html_dir:
            from nbconvert import HTMLExporter
            os.makedirs(html_dir, exist_ok=True)
            body, _ = HTMLExporter().from_notebook_node(nb)
            name = os.path.splitext(os.path.basename(path))[0] + '.html'
            with open(os.path.join(html_dir, name), 'w') as f:
                f.write(body)
    print(f'notebooks: {len(argv) - failed} passed, {failed} failed')
    return 1 if failed else 0


if __name__ == '__main__':
    sys.exit(main(sys.argv[1:]))
