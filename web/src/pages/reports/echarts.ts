// Why: only the parts of ECharts the console draws (bars, funnel, pie; canvas), so the bundle
// carries no more of it than is used. Import VChart from here so `use` has run.
import { use } from 'echarts/core'
import { CanvasRenderer } from 'echarts/renderers'
import { BarChart, FunnelChart, PieChart } from 'echarts/charts'
import { GridComponent, LegendComponent, TooltipComponent } from 'echarts/components'
import VChart from 'vue-echarts'

use([CanvasRenderer, BarChart, FunnelChart, PieChart, GridComponent, LegendComponent, TooltipComponent])

export default VChart
