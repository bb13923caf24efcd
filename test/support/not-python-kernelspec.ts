import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { DEFAULT_JUPYTER_PYTHON } from '../../proxy/local-jupyter.ts';

/**
 * A real kernel of another language: ipykernel, saying in its kernel_info_reply that its language
 * is `not-python` (as the kernelspec does), so the sidecar cannot use a Python barrier with it.
 */
const NOT_PYTHON_KERNEL = `
from ipykernel.ipkernel import IPythonKernel
from ipykernel.kernelapp import IPKernelApp
class NotPythonKernel(IPythonKernel):
    implementation = 'not-python'
    language_info = {**IPythonKernel.language_info, 'name': 'not-python'}
IPKernelApp.launch_instance(kernel_class=NotPythonKernel)
`;

/**
 * Writes the `not-python` kernelspec into a new folder and returns it: put it in JUPYTER_PATH
 * before the Jupyter Server starts (it reads the variable from its environment), remove it after.
 */
export function writeNotPythonKernelspec(): string {
  const specs = mkdtempSync(path.join(tmpdir(), 'gf-kernelspecs-'));
  const specDir = path.join(specs, 'kernels', 'not-python');
  mkdirSync(specDir, { recursive: true });
  writeFileSync(path.join(specDir, 'not_python_kernel.py'), NOT_PYTHON_KERNEL);
  writeFileSync(
    path.join(specDir, 'kernel.json'),
    JSON.stringify({
      argv: [DEFAULT_JUPYTER_PYTHON, path.join(specDir, 'not_python_kernel.py'), '-f', '{connection_file}'],
      display_name: 'Not Python',
      language: 'not-python',
    }),
  );
  return specs;
}
