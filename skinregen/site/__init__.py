"""The Sphinx extension, the myst-nb plotly renderer, the assets and templates the site ships."""
