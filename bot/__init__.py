"""医保小助手: answers Chinese basic medical-insurance questions in WeChat."""

__version__ = "0.1.0"
