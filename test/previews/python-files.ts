/**
 * Python that writes the files the preview tests look at, with the libraries model code uses
 * (pandas + openpyxl, odfpy and xlwt; python-docx). The end-to-end test runs it in a real kernel through the
 * sidecar; the API tests run it with Debian's python3 directly.
 */
import { spawn } from 'node:child_process';
import { DEFAULT_JUPYTER_PYTHON } from '../../proxy/local-jupyter.ts';

/** Two sheets; Data has 10,000 rows with a date column; Summary has a formula and formula-like text. */
export const WORKBOOK_PY = (dir: string) => `
import datetime, pandas as pd
from openpyxl import load_workbook
n = 10000
df = pd.DataFrame({
    "id": range(1, n + 1),
    "date": [datetime.date(2024, 1, 1) + datetime.timedelta(days=i % 365) for i in range(n)],
    "amount": [round(i * 1.5, 2) for i in range(n)],
    "region": ["EU" if i % 2 else "US" for i in range(n)],
})
with pd.ExcelWriter(${JSON.stringify(`${dir}/report.xlsx`)}, engine="openpyxl") as w:
    df.to_excel(w, sheet_name="Data", index=False)
    pd.DataFrame({"region": ["EU", "US"], "total": [1, 2]}).to_excel(w, sheet_name="Summary", index=False)
wb = load_workbook(${JSON.stringify(`${dir}/report.xlsx`)})
ws = wb["Summary"]
ws["C1"] = "double"
ws["C2"] = "=B2*2"
for cell, text in (("D2", '=HYPERLINK("http://evil.example","click")'), ("D3", "=cmd|' /C calc'!A0")):
    ws[cell] = text
    ws[cell].data_type = "s"  # stored as text: what a CSV-to-xlsx export of injected data looks like
wb.save(${JSON.stringify(`${dir}/report.xlsx`)})
print("workbook written")
`;

/**
 * The same two sheets as .ods (pandas with odfpy) and .xls (pandas with xlwt), 2,000 rows: odfpy
 * is slow, and the row count is not what these test. xlwt is deprecated in pandas 1.5 (a warning
 * on stderr) but still writes real BIFF8.
 */
export const LEGACY_WORKBOOKS_PY = (dir: string) => `
import datetime, warnings, pandas as pd
warnings.simplefilter("ignore")
n = 2000
df = pd.DataFrame({
    "id": range(1, n + 1),
    "date": [datetime.date(2024, 1, 1) + datetime.timedelta(days=i % 365) for i in range(n)],
    "amount": [round(i * 1.5, 2) for i in range(n)],
    "region": ["EU" if i % 2 else "US" for i in range(n)],
})
summary = pd.DataFrame({"region": ["EU", "US"], "text": ['=HYPERLINK("http://evil.example","click")', "=cmd|' /C calc'!A0"]})
for name, engine in (("report.ods", "odf"), ("report.xls", "xlwt")):
    with pd.ExcelWriter(${JSON.stringify(dir)} + "/" + name, engine=engine) as w:
        df.to_excel(w, sheet_name="Data", index=False)
        summary.to_excel(w, sheet_name="Summary", index=False)
print("legacy workbooks written")
`;

/**
 * One row of formatted numbers, as a user formats a report: a euro amount, a percentage, a date
 * and a custom format, in xlsx (openpyxl) and xls (xlwt), plus a formula (no cached value: nothing
 * computed it) and formula-like text.
 */
export const FORMATS_PY = (dir: string) => `
import datetime, openpyxl, xlwt
formats = ['#,##0.00 [$€-407]', '0.0%', 'yyyy-mm-dd', '"Qty: "0']
values = [1234.5, 0.256, datetime.date(2024, 3, 5), 12]
header = ["amount", "share", "due", "count", "formula", "text"]
text = '=HYPERLINK("http://evil.example","x")'
wb = openpyxl.Workbook()
ws = wb.active
ws.title = "Formats"
ws.append(header)
ws.append(values + ["=A2*2", text])
for col, code in zip("ABCD", formats):
    ws[col + "2"].number_format = code
ws["F2"].data_type = "s"
wb.save(${JSON.stringify(`${dir}/formats.xlsx`)})
book = xlwt.Workbook()
sheet = book.add_sheet("Formats")
for c, h in enumerate(header):
    sheet.write(0, c, h)
for c, (value, code) in enumerate(zip(values, formats)):
    sheet.write(1, c, value, xlwt.easyxf(num_format_str=code))
sheet.write(1, 4, xlwt.Formula("A2*2"))
sheet.write(1, 5, text)
book.save(${JSON.stringify(`${dir}/formats.xls`)})
print("formats written")
`;

export const DOCX_PY = (dir: string) => `
import docx, struct, zlib
def chunk(kind, data):
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
# A 3x2 RGB PNG (IHDR, IDAT, IEND): the image mammoth inlines as a data: URI.
png = b"\\x89PNG\\r\\n\\x1a\\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", 3, 2, 8, 2, 0, 0, 0)) + chunk(b"IDAT", zlib.compress(b"\\x00" + b"\\xff\\x00\\x00" * 3 + b"\\x00" + b"\\x00\\x00\\xff" * 3)) + chunk(b"IEND", b"")
open(${JSON.stringify(`${dir}/pixel.png`)}, "wb").write(png)
d = docx.Document()
d.add_heading("Quarterly report", 1)
d.add_picture(${JSON.stringify(`${dir}/pixel.png`)})
d.add_paragraph("<script>window.pwned = 1</script> stays text.")
t = d.add_table(rows=2, cols=2)
t.cell(0, 0).text, t.cell(0, 1).text, t.cell(1, 0).text, t.cell(1, 1).text = "Region", "Total", "EU", "3"
d.save(${JSON.stringify(`${dir}/report.docx`)})
print("docx written")
`;

export const HTML_PY = (dir: string) => `
open(${JSON.stringify(`${dir}/page.html`)}, "w").write("<!doctype html><title>chart</title><h1>Chart</h1><script>parent.postMessage('script ran', '*'); document.title = 'pwned'</script>")
open(${JSON.stringify(`${dir}/logo.svg`)}, "w").write('<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10" onload="parent.postMessage(\\'svg script ran\\', \\'*\\')"><rect width="10" height="10"/></svg>')
print("html written")
`;

/** Runs one of the scripts with Debian's python3 (the one with pandas, openpyxl, odfpy, xlwt and python-docx). */
export async function runPython(code: string): Promise<void> {
  const child = spawn(DEFAULT_JUPYTER_PYTHON, ['-c', code], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (chunk) => (stderr += chunk));
  const status = await new Promise<number | null>((resolve) => child.on('close', resolve));
  if (status !== 0) throw new Error(`python failed: ${stderr}`);
}
