"""The account's numbers (IncomingPhoneNumbers): provisioning, updates, release and their
SMS webhooks."""

from __future__ import annotations

import time
import urllib.parse

from integrations.sandbox.phone import is_e164, rfc2822
from integrations.sandbox.twilio.contract import API_VERSION, TwilioError


class NumbersMixin:
    """Incoming phone numbers (part of :class:`TwilioState`)."""

    # incoming phone numbers (the account's numbers) ---------------------------------------------
    def number_json(self, number: str) -> dict:
        entry = self.numbers[number]
        uri = f"/{API_VERSION}/Accounts/{self.account_sid}/IncomingPhoneNumbers/{entry['sid']}.json"
        return {
            "account_sid": self.account_sid,
            "address_requirements": "none",
            "api_version": API_VERSION,
            "beta": False,
            "capabilities": {"voice": True, "sms": True, "mms": True, "fax": False},
            "date_created": entry["date_created"],
            "date_updated": entry["date_updated"],
            "friendly_name": entry["friendly_name"],
            "origin": "twilio",
            "phone_number": number,
            "sid": entry["sid"],
            "sms_application_sid": "",
            "sms_fallback_method": "POST",
            "sms_fallback_url": "",
            "sms_method": entry["sms_method"],
            "sms_url": entry["inbound_url"] or "",
            "status": "in-use",
            "status_callback": entry["status_callback"] or "",
            "status_callback_method": "POST",
            "uri": uri,
            "voice_method": "POST",
            "voice_url": "",
        }

    def number_by_sid(self, sid: str) -> str:
        with self.lock:
            for number, entry in self.numbers.items():
                if entry["sid"] == sid:
                    return number
        raise TwilioError(
            404,
            20404,
            f"The requested resource /{API_VERSION}/Accounts/{self.account_sid}/"
            f"IncomingPhoneNumbers/{sid}.json was not found",
        )

    @staticmethod
    def _check_sms_url(url: str | None) -> str | None:
        url = (url or "").strip() or None
        if url:
            parts = urllib.parse.urlsplit(url)
            if parts.scheme not in ("http", "https") or not parts.hostname:
                raise TwilioError(400, 21502, f"SmsUrl is not a valid URL: {url}")
        return url

    @staticmethod
    def _check_method(value: str | None, name: str) -> str:
        method = (value or "POST").strip().upper()
        if method not in ("GET", "POST"):
            raise TwilioError(400, 20001, f"{name} must be GET or POST")
        return method

    def provision_number(self, form) -> dict:
        """``POST IncomingPhoneNumbers.json``: buy ``PhoneNumber`` (or any number in
        ``AreaCode``) and set its ``SmsUrl``."""
        number = (form.get("PhoneNumber") or "").strip()
        area = (form.get("AreaCode") or "").strip()
        if not number and not area:
            raise TwilioError(400, 20001, "Missing required parameter PhoneNumber or AreaCode")
        sms_url = self._check_sms_url(form.get("SmsUrl"))
        method = self._check_method(form.get("SmsMethod"), "SmsMethod")
        with self.lock:
            if not number:
                if not (area.isdigit() and len(area) == 3):
                    raise TwilioError(400, 21451, f"Invalid area code {area}")
                number = next(
                    f"+1{area}555{n:04d}"
                    for n in range(10000)
                    if f"+1{area}555{n:04d}" not in self.numbers
                )
            if not is_e164(number):
                raise TwilioError(400, 21421, f"PhoneNumber {number} is invalid")
            if number in self.numbers and self.numbers[number].get("sid"):
                raise TwilioError(400, 21422, f"Phone number {number} is not available")
            entry = self.add_number(number, None, sms_url)
            entry["sms_method"] = method
            entry["friendly_name"] = (form.get("FriendlyName") or number).strip()
            entry["status_callback"] = (form.get("StatusCallback") or "").strip() or None
            return self.number_json(number)

    def update_number(self, sid: str, form) -> dict:
        """``POST IncomingPhoneNumbers/{sid}.json``: change its ``SmsUrl`` and friends."""
        number = self.number_by_sid(sid)
        with self.lock:
            entry = self.numbers[number]
            if "SmsUrl" in form:
                entry["inbound_url"] = self._check_sms_url(form.get("SmsUrl"))
            if "SmsMethod" in form:
                entry["sms_method"] = self._check_method(form.get("SmsMethod"), "SmsMethod")
            if "FriendlyName" in form:
                entry["friendly_name"] = form.get("FriendlyName") or number
            if "StatusCallback" in form:
                entry["status_callback"] = (form.get("StatusCallback") or "").strip() or None
            entry["date_updated"] = rfc2822(time.time())
            return self.number_json(number)

    def release_number(self, sid: str) -> None:
        number = self.number_by_sid(sid)
        with self.lock:
            entry = self.numbers.pop(number)
            svc = self.services.get(entry.get("service") or "")
            if svc and number in svc["numbers"]:
                svc["numbers"].remove(number)
