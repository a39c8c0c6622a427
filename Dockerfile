# Astro Runtime 3.3-2 ships Airflow 3.3. Its ONBUILD steps install packages.txt and
# requirements.txt and copy this project to /usr/local/airflow (the working directory).
FROM astrocrpublic.azurecr.io/runtime:3.3-2

# The library (include/airflow_llm) and its `airflow-llm` command. Editable, so the
# include/ folder that `astro dev start` mounts is the code that runs; its dependencies
# are already pinned by requirements.txt.
RUN pip install --no-cache-dir --no-deps -e .

# tiktoken cannot download its encodings in an air-gapped cluster: ship them in the image.
ENV TIKTOKEN_CACHE_DIR=/usr/local/airflow/.cache/tiktoken
RUN airflow-llm setup-tiktoken
