"""Opens and clicks of mail sent from the CRM: ``GET|HEAD /t/o/{token}`` (the pixel) and
``GET|HEAD /t/c/{token}`` (a tracked link), and views of generated documents, ``GET|HEAD
/d/{token}``; public, no API key: the signed token is the credential (``crm.ingest.tracking``)."""

from crm.ingest import tracking
from crm.ingest.http import serve

lambda_handler = serve(tracking.handle)
