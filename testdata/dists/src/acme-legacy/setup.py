from setuptools import setup

setup(
    name="Acme.Legacy",
    version="0.3",
    description="An old-style project with a dotted, capitalised name.",
    py_modules=["acme_legacy"],
)
