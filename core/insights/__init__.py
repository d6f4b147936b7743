"""What the pages and reports show: KPIs, segments and page views, computed from the pipeline."""
