"""Result objects the API returns (a run, a comparison, a bottleneck report, a forecast): tidy tables over
replications, a terminal table, files written atomically, and plots. They sit above analysis
and plotting, whose functions they call, and below the API, which builds them."""

from revsim.results.bottleneck_report import BottleneckReport
from revsim.results.comparison import Comparison
from revsim.results.forecast import Forecast
from revsim.results.forecast_backtest import ForecastBacktest
from revsim.results.run_result import RunResult

__all__ = ["BottleneckReport", "Comparison", "Forecast", "ForecastBacktest", "RunResult"]
