"""Every figure and widget: map panels with legends and scale bars, one module of figures per stage,
and the JupyterLab explorers."""
