"""The image service's domain: image statuses, the file store and the
upload/download flows. The REST layer is vmctl/api/images.py; the records
are vmctl/db/images.py. Compute agents never import this package (it
reaches the database): they use the HTTP client in vmctl/image_client/.
"""
