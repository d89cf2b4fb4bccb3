"""For other projects' test suites: a pytest plugin that hands each test a generated population with its truth.

The plugin (:mod:`.pytest_plugin`) is registered through the ``pytest11``
entry point when graphsleuth is installed; importing it stays light (the
generator, pandas and pyarrow load only when a test asks for a population).
"""

__all__ = ["GeneratedPopulation"]


def __getattr__(name: str):
    if name == "GeneratedPopulation":
        from .pytest_plugin import GeneratedPopulation

        return GeneratedPopulation
    raise AttributeError(name)
