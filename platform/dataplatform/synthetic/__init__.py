"""The building blocks every domain's generator is made of: seeded random streams, vectorised
sampling, injected defects and their record, the batch a generator hands over, and its delivery
one table at a time. They know no domain, so they sit below the transforms and quality (which
reads the defect record's keys) and the domain packages build on them; numpy/pyarrow, no Dagster.
"""
