// A thin React wrapper around one ECharts instance (SVG renderer: crisp, inspectable).
import { useEffect, useRef } from "react";
import * as echarts from "echarts/core";
import { BarChart, CustomChart, LineChart } from "echarts/charts";
import {
  DataZoomComponent,
  GridComponent,
  LegendComponent,
  TooltipComponent,
} from "echarts/components";
import { SVGRenderer } from "echarts/renderers";

echarts.use([
  BarChart,
  CustomChart,
  LineChart,
  DataZoomComponent,
  GridComponent,
  LegendComponent,
  TooltipComponent,
  SVGRenderer,
]);

export type ChartOption = echarts.EChartsCoreOption;

export function Chart({
  option,
  height = 240,
  onClick,
  testId,
  notMerge = true,
}: {
  option: ChartOption;
  height?: number | string;
  onClick?: (params: echarts.ECElementEvent) => void;
  testId?: string;
  notMerge?: boolean;
}) {
  const box = useRef<HTMLDivElement>(null);
  const chart = useRef<echarts.ECharts | null>(null);
  const click = useRef(onClick);
  click.current = onClick;

  useEffect(() => {
    const instance = echarts.init(box.current!, undefined, { renderer: "svg" });
    chart.current = instance;
    instance.on("click", (p) => click.current?.(p as echarts.ECElementEvent));
    const observer = new ResizeObserver(() => instance.resize());
    observer.observe(box.current!);
    return () => {
      observer.disconnect();
      instance.dispose();
      chart.current = null;
    };
  }, []);

  useEffect(() => {
    chart.current?.setOption(option, { notMerge, lazyUpdate: true });
  }, [option, notMerge]);

  return <div ref={box} className="chart" style={{ height }} data-testid={testId} />;
}
