/**
 * Run on change, the pure part (unit-tested): recognising the parameter bar's request to
 * re-run the cells below it (a custom message of its widget, sent by the kernel after the
 * variable changed) and finding the cell whose output holds that widget.
 */

/** The event of the custom message (`workspace.params.RERUN_EVENT`). */
export const RERUN_EVENT = 'workspace.params.run_on_change';

const WIDGET_MIME = 'application/vnd.jupyter.widget-view+json';

/** The widget's model id if `msg` is the bar's re-run request, else null. */
export function rerunModelId(msg: { header: { msg_type: string }; content: any }): string | null {
  if (msg.header.msg_type !== 'comm_msg') {
    return null;
  }
  const data = msg.content?.data;
  if (data?.method !== 'custom' || data?.content?.event !== RERUN_EVENT) {
    return null;
  }
  return typeof msg.content.comm_id === 'string' ? msg.content.comm_id : null;
}

/** The index of the cell (by its nbformat outputs) that shows widget `modelId`, or -1. */
export function cellHoldingWidget(outputs: any[][], modelId: string): number {
  return outputs.findIndex(cell =>
    cell.some(output => output?.data?.[WIDGET_MIME]?.model_id === modelId)
  );
}
