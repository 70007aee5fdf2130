/**
 * The Quality tab's charts: the server's Vega-Lite specs (rows per commit,
 * hours between updates, null rates), each rendered by the Lab's own
 * Vega-Lite renderer through the rendermime registry (no vega bundled here).
 */
import * as React from 'react';
import { IRenderMimeRegistry } from '@jupyterlab/rendermime';
import { Widget } from '@lumino/widgets';

import { IQualityChart, VEGALITE_MIME, chartCaption } from '../qualitymodel';

/** One chart, rendered into its own node; disposed with the component. */
function VegaChart(props: { chart: IQualityChart; rendermime: IRenderMimeRegistry }): JSX.Element {
  const { chart, rendermime } = props;
  const host = React.useRef<HTMLDivElement>(null);
  const [failed, setFailed] = React.useState<string | null>(null);

  React.useEffect(() => {
    const node = host.current;
    if (!node) {
      return;
    }
    const renderer = rendermime.createRenderer(VEGALITE_MIME);
    const model = rendermime.createModel({
      data: { [VEGALITE_MIME]: chart.spec as any },
      trusted: true
    });
    let disposed = false;
    Widget.attach(renderer, node);
    renderer.renderModel(model).catch(err => {
      if (!disposed) {
        setFailed((err as Error).message ?? String(err));
      }
    });
    return () => {
      disposed = true;
      if (renderer.isAttached) {
        Widget.detach(renderer);
      }
      renderer.dispose();
    };
  }, [chart, rendermime]);

  return (
    <figure className="aw-Quality-chart" data-testid="quality-chart" data-chart={chart.id}>
      <figcaption>{chartCaption(chart)}</figcaption>
      {failed ? (
        <div className="aw-Quality-muted" role="alert">
          Could not draw this chart: {failed}
        </div>
      ) : null}
      <div ref={host} className="aw-Quality-chartBody" />
    </figure>
  );
}

/** The charts, one under the other. */
export function QualityCharts(props: {
  charts: IQualityChart[];
  rendermime: IRenderMimeRegistry;
}): JSX.Element {
  return (
    <div className="aw-Quality-charts" data-testid="quality-charts">
      {props.charts.map(c => (
        <VegaChart key={c.id} chart={c} rendermime={props.rendermime} />
      ))}
    </div>
  );
}
