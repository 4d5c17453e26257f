"""Forecasting family: daily series, statistical and recurrent forecasters."""
