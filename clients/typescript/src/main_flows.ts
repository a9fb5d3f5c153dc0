// The main flows of the resident and staff apps, as the app team would write them. Compiled in CI
// (`make ts-client`): it is never run there, but every call is typed against the live contract.
import { ApiError, connect, type ErrorBody, ok, type Schemas } from "./api";

let accessToken: string | undefined;
const api = connect("https://linli.example.cn", () => accessToken);

export async function logIn(phone: string): Promise<Schemas["MeOut"]> {
  await ok(api.POST("/v1/auth/otp", { body: { phone } }));
  const tokens = await ok(api.POST("/v1/auth/login", { body: { phone, code: "123456" } }));
  accessToken = tokens.access_token;
  const refreshed = await ok(api.POST("/v1/auth/refresh", { body: { refresh_token: tokens.refresh_token } }));
  accessToken = refreshed.access_token;
  return ok(api.GET("/v1/me"));
}

export async function fileRepairWithPhoto(cid: number, photo: Blob): Promise<Schemas["TicketOut"]> {
  const me = await ok(api.GET("/v1/me"));
  const household = me.households[0];
  const ticket = await ok(
    api.POST("/v1/communities/{cid}/tickets", {
      params: { path: { cid }, header: { "Idempotency-Key": crypto.randomUUID() } },
      body: {
        kind: "repair",
        category: "plumbing",
        priority: "normal",
        title: "厨房水管漏水",
        description: "水槽下方一直滴水",
        household_id: household?.id ?? null,
      },
    }),
  );
  const attached = await addPhoto(ticket.id, "before", photo);
  // thumb_url (≤ 320 px) for lists, medium_url (≤ 1080 px) for the detail screen, url for zoom.
  console.log(attached.url, attached.medium_url ?? attached.url, attached.thumb_url ?? "no thumbnail");
  return ok(api.GET("/v1/tickets/{tid}", { params: { path: { tid: ticket.id } } }));
}

/** A photo straight to the bucket when the server's storage is S3-compatible (3 steps: presign, upload,
 * complete), else the multipart upload (409 `attachment.direct_upload_unavailable` says so). */
export async function addPhoto(tid: number, purpose: "before" | "after", photo: Blob): Promise<Schemas["AttachmentRef"]> {
  const started = await api.POST("/v1/tickets/{tid}/attachments/uploads", {
    params: { path: { tid }, header: { "Idempotency-Key": crypto.randomUUID() } },
    body: { purpose, content_type: "image/jpeg" },
  });
  if (started.data) {
    const up: Schemas["DirectUploadOut"] = started.data;
    if (up.method === "POST") {
      const form = new FormData();
      for (const [name, value] of Object.entries(up.fields)) form.append(name, value);
      form.append("file", photo, "photo.jpg"); // the file goes last
      await fetch(up.url, { method: "POST", body: form });
    } else {
      await fetch(up.url, { method: "PUT", body: photo, headers: up.headers });
    }
    return ok(
      api.POST("/v1/tickets/{tid}/attachments/uploads/{upload_id}/complete", {
        params: { path: { tid, upload_id: up.upload_id }, header: { "Idempotency-Key": crypto.randomUUID() } },
      }),
    );
  }
  const refused = started.error as ErrorBody;
  if (refused.error.code !== "attachment.direct_upload_unavailable") throw new ApiError(started.response.status, refused);
  const form = new FormData();
  form.append("purpose", purpose);
  form.append("file", photo, "photo.jpg");
  return ok(
    api.POST("/v1/tickets/{tid}/attachments", {
      params: { path: { tid } },
      // The generated body type says `file: string` (binary); what goes on the wire is this form.
      body: { purpose, file: "" },
      bodySerializer: () => form,
    }),
  );
}

export async function allOpenTickets(): Promise<Schemas["TicketListItem"][]> {
  const items: Schemas["TicketListItem"][] = [];
  let cursor: string | null | undefined;
  do {
    const page = await ok(
      api.GET("/v1/tickets", {
        params: { query: { limit: 50, cursor, status: ["submitted", "accepted", "assigned", "in_progress"] } },
      }),
    );
    items.push(...page.items);
    cursor = page.next_cursor;
  } while (cursor);
  return items;
}

export async function acceptAndStart(ticket: Schemas["TicketOut"]): Promise<Schemas["TicketOut"]> {
  try {
    const accepted = await ok(
      api.POST("/v1/tickets/{tid}/transitions", {
        params: { path: { tid: ticket.id } },
        body: { action: "accept", version: ticket.version },
      }),
    );
    return await ok(
      api.POST("/v1/tickets/{tid}/transitions", {
        params: { path: { tid: ticket.id } },
        body: { action: "start", version: accepted.version },
      }),
    );
  } catch (e) {
    // Stable codes, listed per operation in the spec's x-error-codes.
    if (e instanceof ApiError && e.body.error.code === "ticket.version_conflict") {
      return ok(api.GET("/v1/tickets/{tid}", { params: { path: { tid: ticket.id } } }));
    }
    throw e;
  }
}

export async function readNoticesAndAcknowledge(): Promise<number> {
  const feed = await ok(api.GET("/v1/notices", { params: { query: { limit: 20 } } }));
  let acked = 0;
  for (const notice of feed.items) {
    await ok(api.POST("/v1/notices/{nid}/read", { params: { path: { nid: notice.id } } }));
    if (notice.requires_ack && !notice.acked) {
      const receipt = await ok(api.POST("/v1/notices/{nid}/ack", { params: { path: { nid: notice.id } } }));
      if (receipt.acked_at) acked += 1;
    }
  }
  return acked;
}

export async function pollOutcome(pollId: number): Promise<string> {
  const results = await ok(api.GET("/v1/polls/{poll_id}/results", { params: { path: { poll_id: pollId } } }));
  const turnout: Schemas["Turnout"] = results.turnout;
  return `${results.status} ${results.final ? "final" : "provisional"} ${JSON.stringify(turnout)}`;
}

export async function inboxAndBadge(): Promise<Schemas["UnreadCount"]> {
  const inbox = await ok(api.GET("/v1/notifications", { params: { query: { unread: true, limit: 20 } } }));
  const first = inbox.items[0];
  if (first) await ok(api.POST("/v1/notifications/{nid}/read", { params: { path: { nid: first.id } } }));
  return ok(api.GET("/v1/notifications/unread-count"));
}

export async function registerThisPhone(fcmToken: string): Promise<void> {
  const device = await ok(
    api.POST("/v1/devices", { body: { token: fcmToken, platform: "android", provider: "fcm", app_version: "1.0.0" } }),
  );
  const mine = await ok(api.GET("/v1/devices"));
  console.log(mine.length, "devices");
  await api.DELETE("/v1/devices/{device_id}", { params: { path: { device_id: device.id } } });
  await api.POST("/v1/auth/logout", { body: { refresh_token: "…" } });
}
