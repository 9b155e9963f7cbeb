"""The one provider that speaks the Tencent Cloud API, and the transports it speaks through."""
