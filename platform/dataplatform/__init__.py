"""A Dagster-orchestrated data platform: synthetic sources, medallion layers, quality, ML datasets."""

import os

# delta-rs allocates through a jemalloc of its own that by default keeps freed pages for its next
# allocation: the ~700 MB of buffers a streamed day's write uses would stay resident through every
# later step of the run. Returning them as they are freed keeps a run's peak that of its largest
# step. Set before deltalake is first imported (jemalloc reads it once); a user's setting wins.
os.environ.setdefault("_RJEM_MALLOC_CONF", "dirty_decay_ms:0,muzzy_decay_ms:0")
