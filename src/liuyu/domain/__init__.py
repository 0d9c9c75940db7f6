"""The pure domain core: plain Python over plain data, no storage, web or model code."""
