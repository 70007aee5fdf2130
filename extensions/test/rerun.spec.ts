import { RERUN_EVENT, cellHoldingWidget, rerunModelId } from '../src/params/rerun';

const WIDGET = 'application/vnd.jupyter.widget-view+json';
const custom = (content: any, type = 'comm_msg') => ({
  header: { msg_type: type },
  content: { comm_id: 'box-1', data: { method: 'custom', content } }
});

describe('run on change', () => {
  test('only the bar custom re-run message is a request', () => {
    expect(rerunModelId(custom({ event: RERUN_EVENT, name: 'region' }))).toBe('box-1');
    expect(rerunModelId(custom({ event: 'other' }))).toBeNull();
    expect(rerunModelId(custom({ event: RERUN_EVENT }, 'stream'))).toBeNull();
    const update = {
      header: { msg_type: 'comm_msg' },
      content: { comm_id: 'box-1', data: { method: 'update', state: {} } }
    };
    expect(rerunModelId(update)).toBeNull();
  });

  test('the cell that shows the widget is found by its model id', () => {
    const bar = { output_type: 'display_data', data: { [WIDGET]: { model_id: 'box-1' } } };
    const other = { output_type: 'display_data', data: { [WIDGET]: { model_id: 'grid-9' } } };
    const text = { output_type: 'stream', text: 'hi' };
    expect(cellHoldingWidget([[text], [other], [text, bar], []], 'box-1')).toBe(2);
    expect(cellHoldingWidget([[text], [other]], 'box-1')).toBe(-1);
  });
});
