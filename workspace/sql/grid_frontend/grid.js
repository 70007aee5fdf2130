// The result grid's browser side (anywidget ESM, no build step).
//
// Rows stay in the kernel's DuckDB: this view asks for pages of `page_rows` rows around
// what is visible (custom messages {kind: "rows", offset, limit, sort, filters}) and keeps
// a few of them. Sort and filter changes start a new "generation": replies of an older one
// are dropped. Numbers are formatted with Intl.NumberFormat in the reader's locale, by the
// column formats the kernel computed (workspace/sql/formatting.py).

const ROW_HEIGHT = 26;
const VISIBLE_ROWS = 14;
const MAX_SPACER_PX = 8_000_000; // browsers cap element heights; scroll maps proportionally
const KEEP_PAGES = 40;
// request ids are unique across every view on the page: views of one model share replies
let nextRequest = 1;

function numberFormats(column) {
  const grouping = column.grouping !== false;
  if (column.kind === 'integer') {
    return { main: new Intl.NumberFormat(undefined, { useGrouping: grouping, maximumFractionDigits: 0 }) };
  }
  if (column.kind === 'float' || column.kind === 'decimal') {
    const d = column.decimals ?? 2;
    return {
      main: new Intl.NumberFormat(undefined, {
        useGrouping: grouping,
        minimumFractionDigits: d,
        maximumFractionDigits: d
      }),
      sci: new Intl.NumberFormat(undefined, { notation: 'scientific', maximumSignificantDigits: 4 })
    };
  }
  return null;
}

export function formatCell(value, column, formats) {
  if (value === null || value === undefined) {
    return { text: 'NULL', cls: 'ws-grid-null' };
  }
  if (typeof value === 'boolean') {
    return { text: String(value), cls: '' };
  }
  if (formats && (typeof value === 'number' || /^[-+]?\d+(\.\d+)?$/.test(value))) {
    const magnitude = Math.abs(Number(value));
    const useSci = formats.sci && magnitude !== 0 && (magnitude >= 1e15 || magnitude < 1e-4);
    return { text: (useSci ? formats.sci : formats.main).format(value), cls: 'ws-grid-num' };
  }
  return { text: String(value), cls: '' };
}

function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (k === 'className') node.className = v;
    else if (k === 'text') node.textContent = v;
    else node.setAttribute(k, v);
  }
  node.append(...children);
  return node;
}

function histogram(bins) {
  const width = 96;
  const height = 22;
  const svgNS = 'http://www.w3.org/2000/svg';
  const svg = document.createElementNS(svgNS, 'svg');
  svg.setAttribute('width', width);
  svg.setAttribute('height', height);
  svg.setAttribute('class', 'ws-grid-hist');
  svg.setAttribute('data-testid', 'grid-histogram');
  const max = Math.max(1, ...bins.map(b => b.count));
  const w = width / Math.max(1, bins.length);
  bins.forEach((b, i) => {
    const h = b.count ? Math.max(1, (b.count / max) * height) : 0;
    const rect = document.createElementNS(svgNS, 'rect');
    rect.setAttribute('x', String(i * w + 0.5));
    rect.setAttribute('y', String(height - h));
    rect.setAttribute('width', String(Math.max(1, w - 1)));
    rect.setAttribute('height', String(h));
    if (b.other) rect.setAttribute('class', 'ws-grid-hist-other');
    const title = document.createElementNS(svgNS, 'title');
    title.textContent = `${b.label}: ${b.count.toLocaleString()}`;
    rect.append(title);
    svg.append(rect);
  });
  return svg;
}

function render({ model, el: root }) {
  const columns = model.get('columns');
  const pageRows = model.get('page_rows') || 100;
  const formats = columns.map(numberFormats);
  const state = {
    total: model.get('first_page').total ?? model.get('row_count'),
    sort: [],
    filters: {},
    generation: 0,
    pages: new Map(), // page index -> rows, of the current generation
    pending: new Map(), // request id -> {generation, page}
    first: 0,
    exports: new Map() // request id -> chunks
  };
  const first = model.get('first_page');
  if (first && first.rows) state.pages.set(0, first.rows);

  // -- layout ---------------------------------------------------------------------------
  const summary = el('span', { className: 'ws-grid-summary', 'data-testid': 'grid-summary' });
  const status = el('span', { className: 'ws-grid-status', 'data-testid': 'grid-status' });
  const button = (label, testid, title) =>
    el('button', { className: 'ws-grid-button', 'data-testid': testid, title, type: 'button', text: label });
  const copyBtn = button('Copy', 'grid-copy', 'Copy the rows (tab-separated, up to 10,000)');
  const csvBtn = button('CSV', 'grid-download-csv', 'Download the rows as CSV');
  const parquetBtn = button('Parquet', 'grid-download-parquet', 'Download the rows as Parquet');
  const toolbar = el('div', { className: 'ws-grid-toolbar' }, summary, status, copyBtn, csvBtn, parquetBtn);

  const headRow = el('tr', {}, el('th', { className: 'ws-grid-rownum' }, ''));
  const filterRow = el('tr', { className: 'ws-grid-filters' }, el('th', { className: 'ws-grid-rownum' }, ''));
  const headerCells = [];
  const histCells = [];
  columns.forEach((c, i) => {
    const sortMark = el('span', { className: 'ws-grid-sort' });
    const name = el('span', { className: 'ws-grid-name', text: c.name });
    const type = el('span', { className: 'ws-grid-type', text: c.type });
    const hist = el('div', { className: 'ws-grid-histbox' });
    const th = el('th', {
      className: 'ws-grid-head',
      'data-testid': 'grid-header',
      'data-column': c.name,
      title: 'Click to sort; shift-click to sort by several columns'
    }, el('div', { className: 'ws-grid-title' }, name, sortMark), type, hist);
    if (c.kind === 'integer' || c.kind === 'float' || c.kind === 'decimal') th.classList.add('ws-grid-num');
    th.addEventListener('click', ev => toggleSort(c.name, ev.shiftKey));
    headerCells.push({ th, sortMark });
    histCells.push(hist);
    headRow.append(th);
    const input = el('input', {
      className: 'ws-grid-filter',
      'data-testid': 'grid-filter',
      'data-column': c.name,
      placeholder: c.kind === 'text' ? 'contains…' : c.kind === 'other' ? 'contains…' : '> 10, a..b, null',
      'aria-label': `Filter ${c.name}`
    });
    let timer = null;
    const apply = () => {
      clearTimeout(timer);
      if ((state.filters[c.name] || '') !== input.value) {
        state.filters[c.name] = input.value;
        restart();
      }
    };
    input.addEventListener('input', () => {
      clearTimeout(timer);
      timer = setTimeout(apply, 350);
    });
    input.addEventListener('keydown', ev => {
      if (ev.key === 'Enter') apply();
    });
    filterRow.append(el('th', {}, input));
    void i;
  });
  const tbody = el('tbody');
  const table = el('table', { className: 'ws-grid-table', 'data-testid': 'grid-table' }, el('thead', {}, headRow, filterRow), tbody);
  const spacer = el('div', { className: 'ws-grid-spacer' });
  const scroller = el('div', { className: 'ws-grid-scroll', 'data-testid': 'grid-scroll', tabindex: '0' }, table, spacer);
  const wrapper = el('div', { className: 'ws-grid', 'data-testid': 'ws-grid' }, toolbar, scroller);
  root.append(wrapper);

  const visible = () => Math.min(VISIBLE_ROWS, Math.max(1, state.total));
  const rowRefs = [];
  function layout() {
    const rows = Math.min(VISIBLE_ROWS, state.total);
    while (rowRefs.length < rows) {
      const tr = el('tr', { 'data-testid': 'grid-row' });
      const cells = [el('td', { className: 'ws-grid-rownum' })];
      columns.forEach(() => cells.push(el('td')));
      tr.append(...cells);
      rowRefs.push({ tr, cells });
      tbody.append(tr);
    }
    while (rowRefs.length > rows) rowRefs.pop().tr.remove();
    const bodyPx = Math.min(state.total * ROW_HEIGHT, MAX_SPACER_PX);
    spacer.style.height = `${Math.max(0, bodyPx - rows * ROW_HEIGHT)}px`;
    // the grid is as tall as its table (plus a horizontal scrollbar, if any)
    const chrome = Math.max(0, scroller.offsetHeight - scroller.clientHeight);
    if (table.offsetHeight) scroller.style.height = `${table.offsetHeight + chrome}px`;
  }

  function firstVisible() {
    const max = scroller.scrollHeight - scroller.clientHeight;
    const span = Math.max(0, state.total - visible());
    if (max <= 0 || span === 0) return 0;
    return Math.min(span, Math.round((scroller.scrollTop / max) * span));
  }

  function draw() {
    state.first = firstVisible();
    const wanted = new Set();
    rowRefs.forEach((ref, k) => {
      const r = state.first + k;
      const page = Math.floor(r / pageRows);
      const rows = state.pages.get(page);
      const row = rows ? rows[r - page * pageRows] : undefined;
      ref.tr.dataset.row = String(r);
      ref.cells[0].textContent = (r + 1).toLocaleString();
      if (!rows) wanted.add(page);
      columns.forEach((c, i) => {
        const td = ref.cells[i + 1];
        if (row === undefined) {
          td.textContent = rows ? '' : '…';
          td.className = 'ws-grid-loading';
          return;
        }
        const { text, cls } = formatCell(row[i], c, formats[i]);
        td.textContent = text;
        td.className = cls;
        td.title = text.length > 20 ? text : '';
      });
    });
    // keep the next page ready while scrolling down
    const next = Math.floor((state.first + visible()) / pageRows) + 1;
    if (next * pageRows < state.total && !state.pages.has(next)) wanted.add(next);
    wanted.forEach(request);
    summary.textContent = model.get('summary');
    const filtered = Object.values(state.filters).some(v => v && v.trim());
    if (!status.classList.contains('ws-grid-error') && !status.dataset.busy) {
      status.textContent = filtered
        ? state.total
          ? `${state.total.toLocaleString()} rows match`
          : 'No rows match'
        : '';
    }
    wrapper.dataset.first = String(state.first);
    wrapper.dataset.total = String(state.total);
    wrapper.dataset.generation = String(state.generation);
  }

  function send(msg) {
    const id = nextRequest++;
    model.send({ ...msg, request: id, sort: state.sort, filters: state.filters });
    return id;
  }

  function request(page) {
    for (const p of state.pending.values()) {
      if (p.page === page && p.generation === state.generation) return;
    }
    const id = send({ kind: 'rows', offset: page * pageRows, limit: pageRows });
    state.pending.set(id, { page, generation: state.generation });
    wrapper.dataset.loading = 'true';
    wrapper.dataset.pending = [...state.pending.keys()].join(' ');
  }

  function restart() {
    state.generation += 1;
    state.pages.clear();
    status.classList.remove('ws-grid-error');
    scroller.scrollTop = 0;
    request(0);
    draw();
  }

  function toggleSort(column, add) {
    const current = state.sort.find(s => s.column === column);
    let next;
    if (!current) next = { column, descending: false };
    else if (!current.descending) next = { column, descending: true };
    else next = null;
    const others = add ? state.sort.filter(s => s.column !== column) : [];
    state.sort = next ? [...others, next] : others;
    headerCells.forEach(({ th, sortMark }) => {
      const s = state.sort.find(x => x.column === th.dataset.column);
      sortMark.textContent = s ? (s.descending ? ' ▼' : ' ▲') : '';
      th.setAttribute('aria-sort', s ? (s.descending ? 'descending' : 'ascending') : 'none');
    });
    restart();
  }

  function showError(text) {
    status.textContent = text;
    status.classList.add('ws-grid-error');
  }

  function onMessage(msg, buffers) {
    if (msg.kind === 'rows') {
      const info = state.pending.get(msg.request);
      if (!info) return; // another view's request
      state.pending.delete(msg.request);
      for (const [id, p] of state.pending) {
        if (p.generation !== state.generation) state.pending.delete(id);
      }
      wrapper.dataset.pending = [...state.pending.keys()].join(' ');
      if (state.pending.size === 0) delete wrapper.dataset.loading;
      if (info.generation !== state.generation) return;
      if (msg.error) return showError(msg.error);
      state.pages.set(info.page, msg.rows);
      if (state.pages.size > KEEP_PAGES) {
        const near = Math.floor(state.first / pageRows);
        const far = [...state.pages.keys()].sort((a, b) => Math.abs(b - near) - Math.abs(a - near));
        state.pages.delete(far[0]);
      }
      if (msg.total !== state.total) {
        state.total = msg.total;
        layout();
      }
      draw();
    } else if (msg.kind === 'stats') {
      if (msg.error) return;
      msg.columns.forEach((c, i) => {
        const box = histCells[i];
        box.replaceChildren();
        if (c.bins && c.bins.length) box.append(histogram(c.bins));
        const notes = [];
        if (c.distinct !== undefined) notes.push(`${c.distinct.toLocaleString()} distinct`);
        if (c.nulls) notes.push(`${c.nulls.toLocaleString()} null`);
        if (notes.length) box.append(el('div', { className: 'ws-grid-note', text: notes.join(' · ') }));
      });
      wrapper.dataset.stats = 'true';
      layout();
    } else if (msg.kind === 'copy') {
      delete status.dataset.busy;
      if (msg.error) return showError(msg.error);
      copyText(msg.text).then(
        ok => (status.textContent = ok ? `Copied ${Math.max(0, msg.text.split('\n').length - 2).toLocaleString()} rows` : 'Copy failed'),
      );
    } else if (msg.kind === 'export') {
      if (msg.error) {
        delete status.dataset.busy;
        return showError(msg.error);
      }
      const chunks = state.exports.get(msg.request) || [];
      chunks.push(buffers && buffers[0] ? new Uint8Array(buffers[0].buffer || buffers[0]) : new Uint8Array());
      state.exports.set(msg.request, chunks);
      if (msg.last) {
        state.exports.delete(msg.request);
        const url = URL.createObjectURL(new Blob(chunks, { type: msg.mime }));
        const a = el('a', { href: url, download: msg.filename });
        document.body.append(a);
        a.click();
        a.remove();
        setTimeout(() => URL.revokeObjectURL(url), 60_000);
        delete status.dataset.busy;
        status.textContent = `Downloaded ${msg.filename}`;
      }
    } else if (msg.kind === 'error') {
      showError(msg.error);
    }
  }

  async function copyText(text) {
    try {
      await navigator.clipboard.writeText(text);
      return true;
    } catch {
      const area = el('textarea');
      area.value = text;
      document.body.append(area);
      area.select();
      const ok = document.execCommand('copy');
      area.remove();
      return ok;
    }
  }

  copyBtn.addEventListener('click', () => {
    status.dataset.busy = 'true';
    status.textContent = 'Copying…';
    send({ kind: 'copy' });
  });
  for (const [btn, format] of [[csvBtn, 'csv'], [parquetBtn, 'parquet']]) {
    btn.addEventListener('click', () => {
      status.dataset.busy = 'true';
      status.textContent = `Preparing ${format.toUpperCase()}…`;
      send({ kind: 'export', format });
    });
  }

  let frame = 0;
  scroller.addEventListener('scroll', () => {
    if (!frame) frame = requestAnimationFrame(() => { frame = 0; draw(); });
  });
  model.on('msg:custom', onMessage);

  // header histograms: one aggregate in the kernel, asked for once the grid is on screen
  let observer = null;
  const askStats = () => send({ kind: 'stats' });
  if (typeof IntersectionObserver !== 'undefined') {
    observer = new IntersectionObserver(entries => {
      if (entries.some(e => e.isIntersecting)) {
        observer.disconnect();
        askStats();
      }
    });
    observer.observe(wrapper);
  } else {
    askStats();
  }

  layout();
  draw();
  requestAnimationFrame(layout);
  return () => {
    model.off('msg:custom', onMessage);
    if (observer) observer.disconnect();
  };
}

export default { render };
