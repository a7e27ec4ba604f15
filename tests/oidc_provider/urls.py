"""The provider's URLs: a log-in page, django-oauth-toolkit's OpenID endpoints, and /control/ for the tests.

/control/ scripts misbehaviour, as Portico's stub servers do: with a fault set, the token endpoint answers with an
ID token that is wrong in one way (audience, issuer, expiry, signature, no signature, or edited after signing);
it also sets a user's groups at the provider between two log-ins.
"""

import base64
import json
import time

import jwt
from django.conf import settings
from django.contrib.auth import views as auth_views
from django.contrib.auth.models import Group, User
from django.http import HttpResponse, JsonResponse
from django.urls import include, path
from django.views.decorators.csrf import csrf_exempt
from jwcrypto.jwk import JWK
from oauth2_provider.views import TokenView

FAULTS = ("wrong-audience", "wrong-issuer", "expired", "foreign-key", "unsigned", "edited")
_state = {"fault": None}


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _sign(claims: dict, private_key: str) -> str:
    kid = JWK.from_pem(settings.SPEC["rsa_private_key"].encode()).thumbprint()  # the real key's id, as DOT sends
    return jwt.encode(claims, private_key, algorithm="RS256", headers={"kid": kid})


def faulty(id_token: str, fault: str) -> str:
    """`id_token`, made wrong in the way `fault` names."""
    claims = jwt.decode(id_token, options={"verify_signature": False})
    key = settings.SPEC["rsa_private_key"]
    if fault == "wrong-audience":
        return _sign({**claims, "aud": "another-client"}, key)
    if fault == "wrong-issuer":
        return _sign({**claims, "iss": "http://127.0.0.1:9/o"}, key)
    if fault == "expired":
        return _sign({**claims, "iat": int(time.time()) - 7200, "exp": int(time.time()) - 3600}, key)
    if fault == "foreign-key":
        return _sign(claims, settings.SPEC["foreign_private_key"])
    if fault == "unsigned":
        header = _b64(json.dumps({"alg": "none", "typ": "JWT"}).encode())
        return f"{header}.{_b64(json.dumps(claims).encode())}."
    if fault == "edited":  # a privilege added after signing: the signature no longer matches
        header, _, signature = id_token.split(".")
        edited = {**claims, "groups": [*claims.get("groups", []), "portico-pm"]}
        return f"{header}.{_b64(json.dumps(edited).encode())}.{signature}"
    raise ValueError(fault)


class ScriptedTokenView(TokenView):
    """django-oauth-toolkit's token endpoint, whose ID token the current fault (if any) spoils."""

    def post(self, request, *args, **kwargs):
        response = super().post(request, *args, **kwargs)
        fault = _state["fault"]
        if fault and response.status_code == 200:
            body = json.loads(response.content)
            body["id_token"] = faulty(body["id_token"], fault)
            response.content = json.dumps(body).encode()
        return response


@csrf_exempt
def control(request) -> HttpResponse:
    """POST {"fault": name or null} and/or {"groups": {username: [group, ...]}}."""
    body = json.loads(request.body or b"{}")
    if "fault" in body:
        if body["fault"] not in (None, *FAULTS):
            return JsonResponse({"error": f"unknown fault {body['fault']!r}"}, status=400)
        _state["fault"] = body["fault"]
    for username, names in body.get("groups", {}).items():
        user = User.objects.get(username=username)
        user.groups.set([Group.objects.get_or_create(name=name)[0] for name in names])
    return JsonResponse({"fault": _state["fault"]})


urlpatterns = [
    path("accounts/login/", auth_views.LoginView.as_view(template_name="login.html"), name="login"),
    path("o/token/", ScriptedTokenView.as_view()),  # before DOT's own, so it answers /o/token/
    path("o/", include("oauth2_provider.urls", namespace="oauth2_provider")),
    path("control/", control),
]
