// The chart builder's controls (anywidget ESM, no build step): x, y, colour and mark
// dropdowns bound to the Python traits, the chart's Altair code, and "Insert code cell".
//
// Inserting asks JupyterLab through a DOM event that the workspace extension handles
// (extensions/src/results/insertcell.ts): `workspace:insert-cell` with {code}; the
// extension sets `detail.handled`. Without it, the code goes to the clipboard.

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

function render({ model, el: root }) {
  const columns = model.get('columns');
  const select = (trait, label, options) => {
    const sel = el('select', { className: 'ws-chart-select', 'data-testid': `chart-${trait}`, 'aria-label': label });
    for (const [value, text] of options) sel.append(el('option', { value, text }));
    sel.value = model.get(trait);
    sel.addEventListener('change', () => {
      model.set(trait, sel.value);
      model.save_changes();
    });
    model.on(`change:${trait}`, () => (sel.value = model.get(trait)));
    return el('label', { className: 'ws-chart-field' }, el('span', { text: label }), sel);
  };
  const names = columns.map(c => [c.name, `${c.name} (${c.role})`]);
  const numbers = columns.filter(c => c.role === 'quantitative').map(c => [c.name, c.name]);
  const categories = columns.filter(c => c.role === 'nominal').map(c => [c.name, c.name]);
  const marks = model.get('marks').map(m => [m, m]);
  const code = el('pre', { className: 'ws-chart-code', 'data-testid': 'chart-code' });
  const error = el('div', { className: 'ws-grid-status ws-grid-error', 'data-testid': 'chart-error' });
  const status = el('span', { className: 'ws-grid-status', 'data-testid': 'chart-status' });
  const insert = el('button', { className: 'ws-grid-button', type: 'button', 'data-testid': 'chart-insert', text: 'Insert code cell' });
  insert.addEventListener('click', async () => {
    const detail = { code: model.get('code'), handled: false };
    root.dispatchEvent(new CustomEvent('workspace:insert-cell', { detail, bubbles: true }));
    if (detail.handled) {
      status.textContent = 'Inserted below';
      return;
    }
    try {
      await navigator.clipboard.writeText(detail.code);
      status.textContent = 'Copied the code (paste it into a cell)';
    } catch {
      status.textContent = 'Copy the code above into a cell';
    }
  });
  const sync = () => {
    code.textContent = model.get('code');
    error.textContent = model.get('error');
    insert.disabled = !model.get('code');
  };
  model.on('change:code', sync);
  model.on('change:error', sync);
  sync();
  root.append(
    el(
      'div',
      { className: 'ws-chart-builder', 'data-testid': 'chart-builder' },
      el(
        'div',
        { className: 'ws-chart-controls' },
        select('x', 'x', names),
        select('y', 'y', [['', 'count of rows'], ...numbers]),
        select('color', 'colour', [['', 'none'], ...categories]),
        select('mark', 'mark', marks),
        insert,
        status
      ),
      error,
      code
    )
  );
}

export default { render };
