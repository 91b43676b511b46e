/** The dashboard's stylesheet (served as style.css): system fonts, no images. */
export const source = String.raw`
:root { --line: #d8dde3; --muted: #6b7480; --accent: #1d6fd8; --leader: #e4f6e8; --leader-line: #2e9e4f; --down: #fbe9e9; --bad: #c0392b; }
* { box-sizing: border-box; }
body { margin: 0; font: 13px/1.4 system-ui, -apple-system, "Segoe UI", sans-serif; color: #1e2329; background: #f5f7f9; }
header { display: flex; flex-wrap: wrap; align-items: center; gap: 16px; padding: 10px 16px; background: #fff; border-bottom: 1px solid var(--line); }
h1 { font-size: 16px; margin: 0; }
h1 .cluster { font-weight: normal; color: var(--muted); margin-left: 8px; }
h1 .cluster b { color: #1e2329; }
h2 { font-size: 14px; margin: 0 0 8px; display: flex; align-items: center; gap: 10px; flex-wrap: wrap; }
h3 { font-size: 12px; margin: 10px 0 4px; color: var(--muted); text-transform: uppercase; letter-spacing: .04em; }
main { display: grid; grid-template-columns: repeat(auto-fit, minmax(560px, 1fr)); gap: 12px; padding: 12px 16px; }
section { background: #fff; border: 1px solid var(--line); border-radius: 6px; padding: 10px 12px; min-width: 0; }
#signin-panel, #members-panel, #keys-panel, #discovery-panel { grid-column: 1 / -1; }
table { border-collapse: collapse; width: 100%; }
th, td { text-align: left; padding: 3px 8px 3px 6px; border-bottom: 1px solid #eef1f4; white-space: nowrap; }
th { font-weight: 600; color: var(--muted); font-size: 12px; }
td.mono, .mono { font-family: ui-monospace, "SFMono-Regular", Menlo, monospace; font-size: 12px; }
.muted { color: var(--muted); font-weight: normal; font-size: 12px; }
.error { color: var(--bad); }
.warn { color: #b8860b; font-weight: 600; }
tr.leader td { background: var(--leader); font-weight: 600; }
tr.leader td:first-child { box-shadow: inset 3px 0 var(--leader-line); }
tr.is-down td { background: var(--down); color: var(--muted); }
.badge { display: inline-block; margin-left: 6px; padding: 0 6px; border-radius: 8px; background: var(--leader-line); color: #fff; font-size: 11px; font-weight: 600; }
.up { color: var(--leader-line); font-weight: 600; }
.down { color: var(--bad); font-weight: 600; }
.charts { display: grid; grid-template-columns: minmax(0, 1fr) minmax(0, 1fr); gap: 12px; }
figure { margin: 0; }
figcaption { font-size: 12px; margin-bottom: 4px; white-space: nowrap; overflow: hidden; text-overflow: ellipsis; }
svg { width: 100%; height: 70px; background: #fafbfc; border: 1px solid #eef1f4; border-radius: 4px; }
svg polyline { fill: none; stroke: var(--accent); stroke-width: 1.5; }
form.inline { display: flex; flex-wrap: wrap; align-items: center; gap: 8px; margin-bottom: 8px; }
input, textarea, select, button { font: inherit; }
input, textarea, select { padding: 3px 6px; border: 1px solid var(--line); border-radius: 4px; }
button { padding: 3px 10px; border: 1px solid var(--line); border-radius: 4px; background: #fff; cursor: pointer; }
button:hover:not(:disabled) { border-color: var(--accent); color: var(--accent); }
button:disabled { opacity: .5; cursor: default; }
.tabs button[aria-selected="true"] { background: var(--accent); border-color: var(--accent); color: #fff; }
.split { display: grid; grid-template-columns: minmax(0, 3fr) minmax(260px, 2fr); gap: 14px; align-items: start; }
table.keys tbody tr { cursor: pointer; }
table.keys tbody tr:hover td { background: #f2f6fc; }
table.keys tbody tr.selected td { background: #e3edfb; }
.keys td { max-width: 360px; overflow: hidden; text-overflow: ellipsis; }
.editor { display: grid; gap: 6px; }
.editor label { display: grid; gap: 2px; font-size: 12px; color: var(--muted); }
.editor textarea { font-family: ui-monospace, Menlo, monospace; resize: vertical; }
.message { margin: 0; min-height: 1.4em; font-size: 12px; }
.history { margin: 0; padding-left: 18px; font-size: 12px; }
#feed-status.live::before { content: "● "; color: var(--leader-line); }
#feed tbody tr.event-delete td:nth-child(2), #feed tbody tr.event-expire td:nth-child(2) { color: var(--bad); }
.scroll { max-height: 220px; overflow: auto; }
dialog { border: 1px solid var(--line); border-radius: 6px; padding: 14px 16px; max-width: 520px; }
dialog::backdrop { background: rgba(20, 30, 40, .3); }
dialog p { margin: 0 0 12px; overflow-wrap: anywhere; }
#signin-panel { border-color: var(--accent); }
#signin-panel p { margin: 0; }
#session { margin-left: auto; }
table.keys tbody tr.refusal { cursor: default; }
table.keys tbody tr.refusal td { color: var(--bad); background: none; }
#confirm-yes { background: var(--accent); border-color: var(--accent); color: #fff; }
`;
