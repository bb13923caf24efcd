// @ts-check
/**
 * The demo page as a chat app would be: one kernel per chat, created through the sidecar at
 * /chats/{chatId}/ (the chat's gateway base URL), code sent as execute_request over the kernel
 * WebSocket (legacy JSON frames, like Open WebUI), outputs shown as they come.
 */

const EXAMPLES = {
  excel: `import pandas as pd
df = pd.DataFrame({'region': ['North', 'South', 'East', 'West'], 'sales': [120, 80, 95, 143]})
df.to_excel('/mnt/data/report.xlsx', index=False)
print('Saved /mnt/data/report.xlsx with', len(df), 'rows')`,
  csv: `import pandas as pd
pd.DataFrame({'month': ['Jan', 'Feb', 'Mar'], 'signups': [31, 45, 52]}).to_csv('/mnt/data/signups.csv', index=False)
print(open('/mnt/data/signups.csv').read())`,
  pdf: `from reportlab.lib.pagesizes import A4
from reportlab.pdfgen import canvas
c = canvas.Canvas('/mnt/data/summary.pdf', pagesize=A4)
c.setFont('Helvetica-Bold', 20); c.drawString(72, 770, 'Quarterly summary')
c.setFont('Helvetica', 12); c.drawString(72, 740, 'Sales grew 12% on the quarter.')
c.save()
print('Wrote /mnt/data/summary.pdf')`,
  plot: `import matplotlib
matplotlib.use('Agg')
import matplotlib.pyplot as plt
fig, ax = plt.subplots(figsize=(5, 3))
ax.bar(['N', 'S', 'E', 'W'], [120, 80, 95, 143], color='#4e79a7'); ax.set_title('Sales by region')
fig.savefig('/mnt/data/sales.png', dpi=120, bbox_inches='tight')
plt.show()
print('Saved /mnt/data/sales.png')`,
  formats: `# One file of each kind the element previews.
import json, os, pandas as pd, matplotlib
matplotlib.use('Agg')
import matplotlib.pyplot as plt
from docx import Document
from reportlab.pdfgen import canvas
df = pd.DataFrame({'region': ['North', 'South', 'East', 'West'], 'sales': [120, 80, 95, 143]})
os.makedirs('/mnt/data/formats', exist_ok=True)
df.to_excel('/mnt/data/formats/sales.xlsx', index=False)
df.to_csv('/mnt/data/formats/sales.csv', index=False)
doc = Document(); doc.add_heading('Quarterly summary', 1); doc.add_paragraph('Sales grew 12% on the quarter.')
t = doc.add_table(rows=1, cols=2); t.style = 'Table Grid'; t.rows[0].cells[0].text = 'Region'; t.rows[0].cells[1].text = 'Sales'
for r, s in zip(df.region, df.sales):
    cells = t.add_row().cells; cells[0].text = r; cells[1].text = str(s)
doc.save('/mnt/data/formats/summary.docx')
open('/mnt/data/formats/notes.md', 'w').write('# Notes\\n\\n- **West** leads\\n- South lags\\n')
json.dump({'regions': df.to_dict('records'), 'total': int(df.sales.sum())}, open('/mnt/data/formats/sales.json', 'w'), indent=2)
open('/mnt/data/formats/log.txt', 'w').write('run 1: 438 total\\nrun 2: 438 total\\n')
open('/mnt/data/formats/report.html', 'w').write('<h1>Report</h1><p>Total: 438</p><script>alert(1)</script>')
open('/mnt/data/formats/logo.svg', 'w').write('<svg xmlns="http://www.w3.org/2000/svg" width="80" height="80"><circle cx="40" cy="40" r="30" fill="#4e79a7"/></svg>')
fig, ax = plt.subplots(figsize=(4, 3)); ax.bar(df.region, df.sales); fig.savefig('/mnt/data/formats/sales.png', dpi=100)
c = canvas.Canvas('/mnt/data/formats/summary.pdf'); c.drawString(72, 770, 'Quarterly summary'); c.save()
print('Wrote', len(os.listdir('/mnt/data/formats')), 'files to /mnt/data/formats')`,
  overwrite: `import datetime
with open('/mnt/data/notes.md', 'a') as f:
    f.write(f'- run at {datetime.datetime.now():%H:%M:%S}\\n')
print(open('/mnt/data/notes.md').read())`,
};

/** @type {Record<string, string>} */
const ANSWER_FILE = {
  excel: 'report.xlsx',
  csv: 'signups.csv',
  pdf: 'summary.pdf',
  plot: 'sales.png',
  overwrite: 'notes.md',
  formats: 'formats/summary.docx',
};

const $ = (/** @type {string} */ id) => /** @type {HTMLElement} */ (document.getElementById(id));
const chatSelect = /** @type {HTMLSelectElement} */ ($('chat'));
const codeBox = /** @type {HTMLTextAreaElement} */ ($('code'));
const output = $('output');
const images = $('images');
const status = $('kernel-status');
const files = $('files');

/** @type {{ token: string | null }} */
const config = await (await fetch('config.json')).json();
const auth = config.token ? `?token=${encodeURIComponent(config.token)}` : '';

// With FILES_API_SECRET set, the files API wants a chat token: the demo asks its sidecar for one,
// as a chat app's server would mint it (`generated-files-sidecar token --chat …` does the same).
/** @type {Map<string, Promise<string | null>>} */
const chatTokens = new Map();
/** @type {any} */ (files).tokenProvider = (/** @type {{ refresh: boolean }} */ { refresh }) => {
  const chatId = files.getAttribute('chat-id') ?? '';
  let token = chatTokens.get(chatId);
  if (!token || refresh) {
    token = fetch(`token.json?chat=${encodeURIComponent(chatId)}`)
      .then((res) => (res.ok ? res.json() : { token: null }))
      .then((body) => body.token);
    chatTokens.set(chatId, token);
  }
  return token;
};

/** @type {Map<string, Promise<WebSocket>>} one kernel connection per chat */
const kernels = new Map();
/** @type {Set<string>} the kernels this page started, as `chatId/kernelId`: shut down when it goes */
const started = new Set();
addEventListener('pagehide', () => {
  for (const entry of started) {
    const [chatId, id] = entry.split('/');
    // keepalive: the request outlives the page.
    void fetch(`/chats/${chatId}/api/kernels/${id}${auth}`, { method: 'DELETE', keepalive: true });
  }
  started.clear();
});
let lastExample = 'excel';

function chats() {
  const saved = JSON.parse(localStorage.getItem('demo-chats') ?? '[]');
  return Array.isArray(saved) && saved.length ? saved : ['chat-1'];
}

function renderChats(selected = chats()[0]) {
  chatSelect.replaceChildren(...chats().map((id) => new Option(id, id, false, id === selected)));
  selectChat(selected);
}

function selectChat(/** @type {string} */ chatId) {
  output.textContent = '';
  images.replaceChildren();
  // A chat exists once its kernel (and so its workspace) does: start it, then show its files.
  kernelFor(chatId).then(
    () => files.setAttribute('chat-id', chatId),
    (error) => (output.textContent = String(error)),
  );
}

/** @returns {Promise<WebSocket>} */
function kernelFor(/** @type {string} */ chatId) {
  let socket = kernels.get(chatId);
  if (!socket) {
    socket = (async () => {
      status.textContent = 'starting kernel…';
      const res = await fetch(`/chats/${chatId}/api/kernels${auth}`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: '{"name":"python3"}',
      });
      if (!res.ok) throw new Error(`Could not start a kernel: HTTP ${res.status} ${await res.text()}`);
      const { id } = await res.json();
      started.add(`${chatId}/${id}`);
      const ws = new WebSocket(
        `${location.origin.replace(/^http/, 'ws')}/chats/${chatId}/api/kernels/${id}/channels${auth}`,
      );
      await new Promise((resolve, reject) => {
        ws.onopen = resolve;
        ws.onerror = () => reject(new Error('kernel socket failed'));
      });
      ws.addEventListener('close', () => kernels.delete(chatId));
      status.textContent = 'kernel ready';
      return ws;
    })();
    kernels.set(chatId, socket);
    socket.catch(() => kernels.delete(chatId));
  }
  return socket;
}

async function run() {
  const chatId = chatSelect.value;
  output.textContent = '';
  images.replaceChildren();
  let ws;
  try {
    ws = await kernelFor(chatId);
  } catch (error) {
    output.textContent = String(error);
    status.textContent = 'no kernel';
    return;
  }
  const msgId = crypto.randomUUID();
  status.textContent = 'running…';
  ws.send(
    JSON.stringify({
      header: {
        msg_id: msgId,
        msg_type: 'execute_request',
        username: 'demo',
        session: crypto.randomUUID(),
        date: new Date().toISOString(),
        version: '5.3',
      },
      parent_header: {},
      metadata: {},
      content: {
        code: codeBox.value,
        silent: false,
        store_history: true,
        user_expressions: {},
        allow_stdin: false,
        stop_on_error: true,
      },
      channel: 'shell',
    }),
  );
  const onMessage = (/** @type {MessageEvent} */ event) => {
    if (typeof event.data !== 'string') return;
    const msg = JSON.parse(event.data);
    if (msg.parent_header?.msg_id !== msgId) return;
    const content = msg.content;
    switch (msg.msg_type) {
      case 'stream':
        output.textContent += content.text;
        break;
      case 'execute_result':
      case 'display_data':
        if (content.data['image/png']) {
          const img = document.createElement('img');
          img.alt = 'plot output';
          img.src = `data:image/png;base64,${content.data['image/png']}`;
          images.append(img);
        } else if (content.data['text/plain']) output.textContent += `${content.data['text/plain']}\n`;
        break;
      case 'error':
        // Tracebacks carry ANSI colour codes; the demo shows plain text.
        // eslint-disable-next-line no-control-regex -- ANSI colour codes in tracebacks
        output.textContent += content.traceback.join('\n').replace(/\u001b\[[\d;]*m/g, '');
        break;
      case 'status':
        if (content.execution_state === 'idle') {
          ws.removeEventListener('message', onMessage);
          status.textContent = 'kernel ready';
          showAnswer();
        }
    }
  };
  ws.addEventListener('message', onMessage);
}

function showAnswer() {
  const name = ANSWER_FILE[lastExample];
  const answer = $('answer');
  if (!name) return;
  const link = document.createElement('a');
  link.href = `sandbox:/mnt/data/${name}`;
  link.textContent = name;
  answer.replaceChildren('Done! Download it here: ', link, ' (a dead link in a real chat; the element makes it work).');
}

for (const button of document.querySelectorAll('[data-example]')) {
  button.addEventListener('click', () => {
    lastExample = /** @type {HTMLElement} */ (button).dataset.example ?? 'excel';
    codeBox.value = EXAMPLES[/** @type {keyof typeof EXAMPLES} */ (lastExample)];
  });
}
$('run').addEventListener('click', () => void run());
codeBox.addEventListener('keydown', (event) => {
  if (event.key === 'Enter' && (event.ctrlKey || event.metaKey)) void run();
});
chatSelect.addEventListener('change', () => selectChat(chatSelect.value));
$('new-chat').addEventListener('click', () => {
  const next = `chat-${chats().length + 1}`;
  localStorage.setItem('demo-chats', JSON.stringify([...chats(), next]));
  renderChats(next);
});

codeBox.value = EXAMPLES.excel;
renderChats();
