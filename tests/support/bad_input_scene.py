"""What the bad-input tests aim at: real users of every role with live tokens, an owner with
money, holds in each state, real refresh, reset and page tokens; and the strategies that
draw from them (field by field name) and the callers' metadata.

A call that succeeds may use some of it up (a Logout ends the caller's session, a capture
settles the hold): `after_success` makes that part anew. The strategies look values up
when they draw, so they stay good across such changes.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Sequence
from typing import Any

import grpc
from google.protobuf import duration_pb2, field_mask_pb2
from google.protobuf.message import Message
from hypothesis import strategies as st
from sqlalchemy import Engine, text

from tests.support import bad_input
from tests.support.identities import PASSWORD, Identity, make_identity
from tests.support.server_process import TEST_JWT_SECRET
from user_service.adapters.jwt_tokens import JwtCodec
from user_service.domain.recovery import ResetTokens
from userservice.v1 import balance_pb2, balance_pb2_grpc, user_auth_pb2, user_auth_pb2_grpc

Metadata = tuple[tuple[str, str], ...]

# The scene's users, by part: the owner has money and holds; "other" has some money too.
PARTS = ("owner", "other", "agent", "service", "admin")
FILTERS = (
    "",
    'email = "user-*"',
    "role = ROLE_ADMIN AND is_active = true",
    "email_verified = false",
    'email = "\'; DROP TABLE users; --"',
    'email = "%*"',
    'email = "_*"',
    "role = ROLE_NOPE",
    "role = ROLE_ADMIN AND role = ROLE_USER",
    'email = "a" OR 1=1',
    "is_active = true AND",
    'email = "unterminated',
    'email = "\\"*"',
)
PASSWORDS = (
    PASSWORD,
    "password",
    "12345678",
    "x" * 72,
    "x" * 73,
    "é" * 36,
    "é" * 37,
    "correct horse battery staple\x00",
    "\U0001f600" * 18,
)
WEEK = duration_pb2.Duration(seconds=7 * 24 * 3600)


def pick(values: Callable[[], Sequence[Any]], size: int) -> st.SearchStrategy[Any]:
    """One of `values()` as they are when drawn (there are always `size` of them)."""
    return st.integers(0, size - 1).map(lambda index: values()[index])


class Scene:
    def __init__(self, owner_engine: Engine, channel: grpc.Channel) -> None:
        self._engine = owner_engine
        self._auth = user_auth_pb2_grpc.UserAuthStub(channel)
        self._balance = balance_pb2_grpc.BalanceStub(channel)
        self.users: dict[str, Identity] = {}
        self.holds: dict[str, str] = {}
        for part in ("service", "owner", "other", "agent", "admin"):
            self._make(part)
        self.deleted = self._deleted_user()
        self.nobody = str(uuid.uuid4())
        self._strategies: dict[str, st.SearchStrategy[Any]] = {}

    # ---- making and remaking

    def _make(self, part: str) -> None:
        self.users[part] = make_identity(
            self._engine, *(("user",) if part in ("owner", "other") else (part,))
        )
        if part == "owner":
            self.funding_request_id = uuid.uuid4().hex
            self._deposit("owner", 10_000, self.funding_request_id)
            self.holds["active"] = self._reserve("owner", 300)
            self.holds["released"] = self._reserve("owner", 200)
            self._balance.ReleaseHold(
                balance_pb2.ReleaseHoldRequest(hold_id=self.holds["released"]),
                metadata=self._service,
                timeout=10,
            )
            self.holds["captured"] = self._reserve("owner", 100)
            self._balance.CaptureHold(
                balance_pb2.CaptureHoldRequest(hold_id=self.holds["captured"], request_id=uuid.uuid4().hex),
                metadata=self._service,
                timeout=10,
            )
            self.reset_token = self._reset_token()
            self._new_refresh_token()
            self.forged = bad_input.forged_tokens(self.users["owner"].user_id, self.users["owner"].session_id)
        if part == "other":
            self._deposit("other", 500, uuid.uuid4().hex)
            self.holds["other's"] = self._reserve("other", 50)

    @property
    def _service(self) -> Metadata:
        return self.users["service"].metadata

    def _deposit(self, part: str, amount: int, request_id: str) -> None:
        self._balance.Deposit(
            balance_pb2.DepositRequest(
                user_id=str(self.users[part].user_id), amount=amount, request_id=request_id
            ),
            metadata=self._service,
            timeout=10,
        )

    def _reserve(self, part: str, amount: int) -> str:
        """A new hold of `amount` (deposited first: the fuzzer may have spent the money)."""
        self._deposit(part, amount, uuid.uuid4().hex)
        request = balance_pb2.ReserveFundsRequest(
            user_id=str(self.users[part].user_id), amount=amount, request_id=uuid.uuid4().hex, ttl=WEEK
        )
        return str(self._balance.ReserveFunds(request, metadata=self._service, timeout=10).hold.id)

    def _reset_token(self) -> str:
        with self._engine.connect() as connection:
            password_hash, email = connection.execute(
                text("SELECT password_hash, email FROM users WHERE id = :id"),
                {"id": self.users["owner"].user_id},
            ).one()
        return ResetTokens(JwtCodec([TEST_JWT_SECRET]), 1800).issue(
            self.users["owner"].user_id, password_hash, email
        )

    def _new_refresh_token(self) -> None:
        """A real refresh token of a session of the owner's (a Login), until it is used."""
        self.refresh_token = self._auth.Login(
            user_auth_pb2.LoginRequest(email=self.users["owner"].email, password=PASSWORD), timeout=10
        ).refresh_token

    def _deleted_user(self) -> Identity:
        """A user deleted as DeleteUser leaves one: no personal data, sessions ended, account closed."""
        identity = make_identity(self._engine)
        with self._engine.begin() as connection:
            for statement in (
                "UPDATE accounts SET close_time = now() WHERE user_id = :id",
                "UPDATE sessions SET revoke_time = now(), revoke_reason = 'user deleted' WHERE user_id = :id",
                "UPDATE users SET email = NULL, password_hash = NULL, full_name = '', is_active = false,"
                " delete_time = now() WHERE id = :id",
            ):
                connection.execute(text(statement), {"id": identity.user_id})
        return identity

    def after_success(self, rpc: str, request: Message, metadata: Metadata) -> bool:
        """Make anew what a successful `rpc` used up; whether anything was."""
        if rpc == "RefreshToken":
            self._new_refresh_token()
            return True
        if rpc in ("CaptureHold", "ReleaseHold"):
            settled = getattr(request, "hold_id", "").lower()
            for name, part, amount in (("active", "owner", 300), ("other's", "other", 50)):
                if settled == self.holds[name]:
                    self.holds[name] = self._reserve(part, amount)
                    return True
            return False
        return self._remake(self._used_up(rpc, request, metadata))

    def _used_up(self, rpc: str, request: Message, metadata: Metadata) -> list[str]:
        """The users a successful `rpc` changed: ended their session, password or roles."""
        if rpc in ("Logout", "ChangePassword"):
            header = dict(metadata).get("authorization", "")
            return [part for part, user in self.users.items() if user.token in header]
        if rpc in ("SetUserRoles", "DeleteUser", "UpdateUser"):
            target = getattr(request, "user_id", "").lower()
            return [part for part, user in self.users.items() if str(user.user_id) == target]
        return ["owner"] if rpc == "ResetPassword" else []

    def after_refusal(self, reason: str) -> bool:
        if reason == "REFRESH_TOKEN_REUSED":  # that session has ended
            self._new_refresh_token()
            return True
        return False

    def _remake(self, parts: list[str]) -> bool:
        for part in parts:
            self._make(part)
        return bool(parts)

    # ---- strategies

    def requests(self, cls: type[Message]) -> st.SearchStrategy[Message]:
        """Requests of `cls` aimed at this scene (built once: building is slow)."""
        name = cls.DESCRIPTOR.full_name
        if name not in self._strategies:
            self._strategies[name] = bad_input.message_strategy(cls, self._named())
        return self._strategies[name]

    def callers(self) -> st.SearchStrategy[Metadata]:
        """Metadata: a valid token of one of the scene's users (7 in 10), a token or header
        that must fail (2 in 10), or none; and an x-forwarded-for."""
        if "metadata" not in self._strategies:
            self._strategies["metadata"] = self._callers()
        return self._strategies["metadata"]

    def _callers(self) -> st.SearchStrategy[Metadata]:
        valid = pick(lambda: [f"Bearer {self.users[part].token}" for part in PARTS], len(PARTS))
        forged = pick(lambda: [f"Bearer {token}" for token in self.forged.values()], len(self.forged))
        headers = pick(lambda: bad_input.header_values(self.users["owner"].token), 7)
        invalid = st.one_of(
            forged,
            headers,
            st.just(f"Bearer {self.deleted.token}"),
            bad_input.ascii_header().map(lambda garbage: f"Bearer {garbage}"),
        )

        @st.composite
        def metadata(draw: st.DrawFn) -> Metadata:
            choice = draw(st.integers(0, 9))
            authorization: Metadata = ()
            if choice < 9:
                authorization = (("authorization", draw(valid if choice < 7 else invalid)),)
            return (("x-forwarded-for", draw(bad_input.forwarded_for())), *authorization)

        return metadata()

    def _user_ids(self) -> list[str]:
        ids = [str(self.users[part].user_id) for part in PARTS]
        return [*ids[:2], self.nobody, str(self.deleted.user_id), *ids[2:]]

    def _named(self) -> bad_input.Named:
        """Meaningful values for fields, by field name."""
        ids = self._user_ids
        count = len(ids())

        def id_variants() -> list[str]:
            owner = self.users["owner"].user_id
            return [
                str(owner).upper(),
                owner.hex,
                f"{{{owner}}}",
                owner.urn,
                f" {owner}",
                str(uuid.UUID(int=0)),
            ]

        def user_id() -> st.SearchStrategy[Any]:
            return pick(lambda: ids() * 3 + id_variants(), 3 * count + 6)

        def payee_id() -> st.SearchStrategy[Any]:
            return pick(lambda: (ids()[1:] + ids()[:1]) * 3 + id_variants(), 3 * count + 6)

        def hold_id() -> st.SearchStrategy[Any]:
            holds = lambda: [*self.holds.values(), self.nobody]  # noqa: E731
            size = len(self.holds) + 1
            return st.one_of(pick(holds, size), pick(lambda: [h.upper() for h in holds()], size))

        def description() -> st.SearchStrategy[Any]:
            return st.one_of(st.sampled_from(bad_input.SQL), st.text(max_size=60))

        def new_password() -> st.SearchStrategy[Any]:
            return st.one_of(
                st.sampled_from(PASSWORDS), st.uuids().map(lambda u: f"lilac {u.hex[:10]} orbit")
            )

        emails = lambda: [  # noqa: E731  (another's first: the owner changing to it is refused)
            self.users["other"].email,
            self.users["owner"].email,
            f"  {self.users['owner'].email.upper()} ",
        ]
        owner_listing = lambda: f"transactions/{self.users['owner'].user_id}/USD/"  # noqa: E731
        page_tokens = lambda: [  # noqa: E731
            "",  # the first page
            bad_input.page_token_for(owner_listing(), [2**62]),
            bad_input.page_token_for(owner_listing(), [-1]),
            bad_input.page_token_for(owner_listing(), [10**30]),
            bad_input.page_token_for(owner_listing(), ["1"]),
            bad_input.page_token_for(f"transactions/{self.users['other'].user_id}/USD/deposit", [5]),
            bad_input.page_token_for("users:", ["2020-01-01T00:00:00+00:00", self.nobody]),
            bad_input.page_token_for("users:", ["9999-12-31T23:59:59", self.nobody]),
            bad_input.page_token_for("users:", ["'; DROP TABLE users; --", self.nobody]),
            bad_input.page_token_for("users:", ["2020-01-01", "\x00"]),
            "eyJxIjoiIn0",
            "%%%",
        ]
        return {
            "user_id": user_id,
            "from_user_id": user_id,
            "to_user_id": payee_id,
            "hold_id": hold_id,
            # Fresh ids mostly (hypothesis repeats its own), the owner's first deposit's, too long ones.
            "request_id": lambda: st.one_of(
                st.builds(lambda: str(uuid.uuid4())),
                st.builds(lambda: self.funding_request_id),
                st.text(min_size=60, max_size=70),
            ),
            "amount": lambda: st.integers(0, 20_000),
            "description": description,
            "reference": description,
            "full_name": description,
            "email": lambda: st.one_of(
                pick(emails, 3), st.builds(lambda: f"fuzz-{uuid.uuid4().hex[:16]}@example.com"), st.emails()
            ),
            "password": new_password,
            "current_password": lambda: st.sampled_from(PASSWORDS),
            "new_password": new_password,
            "token": lambda: st.one_of(
                st.builds(lambda: self.reset_token),
                pick(lambda: [self.users["owner"].token, *self.forged.values()], 1 + len(self.forged)),
                st.text(st.characters(codec="ascii"), min_size=20, max_size=60),
            ),
            "refresh_token": lambda: st.one_of(st.builds(lambda: self.refresh_token), st.text(max_size=60)),
            "page_token": lambda: pick(page_tokens, 12),
            "filter": lambda: st.sampled_from(FILTERS),
            "paths": lambda: st.lists(
                st.sampled_from(["full_name", "email", "fullName", "roles", "id", "password_hash", ""]),
                max_size=3,
            ),
            "update_mask": lambda: st.lists(
                st.sampled_from(["full_name", "email"]), min_size=1, max_size=2
            ).map(lambda paths: field_mask_pb2.FieldMask(paths=paths)),
            "seconds": lambda: st.sampled_from(
                [60, 0, 1, 604_800, 604_801, -1, 315_576_000_000, 315_576_000_001]
            ),
            "nanos": lambda: st.sampled_from([0, 1, -1, 999_999_999, 1_000_000_000]),
            "roles": lambda: st.lists(st.sampled_from([1, 2, 3, 4, 0, 5, -1]), max_size=4),
        }
