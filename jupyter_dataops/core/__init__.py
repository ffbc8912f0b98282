"""The plain-Python core: models, errors, configuration and the service facade.

Nothing here imports tornado, IPython or frontend code, so every adapter behaves the same.
"""
