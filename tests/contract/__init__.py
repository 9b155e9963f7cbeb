"""One suite of provider behaviours over both transports, and the end-to-end path over HTTP."""
