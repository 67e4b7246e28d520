//! The channel to the host: reads frames, runs each request on its own thread so several can
//! be in flight, and hands upload chunks and cancellations to the request they belong to
//! (see [`crate::call`], which also writes the replies).

use crate::call::Conn;
use crate::rpc::server::Server;
use crate::rpc::workers::{self, Workers};
use guestwright_protocol::{codec, dispatch, read_frame, FrameKind, RemoteError, Request};
use std::fs::File;
use std::io::{self, BufReader};
use std::sync::Arc;

/// Serves requests until the host closes the channel or asks for shutdown.
pub fn serve(server: Arc<Server>, port: File) -> io::Result<()> {
    // Most frames are small and the port hands over what the host wrote in one read.
    let mut reader = BufReader::with_capacity(64 << 10, port.try_clone()?);
    let conn = Arc::new(Conn::new(port));
    let workers = Workers::new();
    loop {
        let frame = match read_frame(&mut reader) {
            Ok(f) => f,
            Err(e) if e.is_eof() => {
                info!("the host closed the channel");
                return Ok(());
            }
            Err(e) => {
                // A corrupt frame means the stream is out of step; nothing after it can be
                // trusted, so stop serving (the host sees the channel close).
                info!("bad frame from the host: {e}");
                return Err(io::Error::new(io::ErrorKind::InvalidData, e.to_string()));
            }
        };
        match frame.kind {
            FrameKind::Request => start_request(&server, &conn, &workers, frame.id, &frame.payload),
            _ => conn.deliver(frame),
        }
    }
}

fn start_request(
    server: &Arc<Server>,
    conn: &Arc<Conn>,
    workers: &Arc<Workers>,
    id: u32,
    payload: &[u8],
) {
    let request: Request = match codec::decode(payload) {
        Ok(r) => r,
        Err(e) => {
            conn.send_error(
                id,
                &RemoteError::new(guestwright_protocol::Errno::EBADMSG, e.to_string()),
            );
            return;
        }
    };
    let streams_input = request.info().stream == guestwright_protocol::Stream::Input;
    let mut call = conn.start_call(id, streams_input);
    let server = server.clone();
    let conn_for_thread = conn.clone();
    let name = request.name();
    let spawned = workers.run(move || {
        let conn = conn_for_thread;
        debug!("request {id}: {name}");
        let is_poweroff = matches!(request, Request::Poweroff(_));
        // A bug in one operation must not take the daemon (PID 1) down with it.
        let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            dispatch(&*server, &mut call, request)
        }))
        .unwrap_or_else(|_| {
            workers::taint();
            Err(io::Error::other(format!(
                "daemon bug: the {name} operation panicked (see the appliance console)"
            )))
        });
        conn.end_call(id);
        drop(call);
        match result {
            Ok(reply) => {
                if let Err(e) = conn.send(FrameKind::Reply, id, &reply) {
                    info!("cannot send reply for request {id}: {e}");
                }
            }
            Err(e) => {
                debug!("request {id} ({name}) failed: {e}");
                conn.send_error(id, &RemoteError::from(&e));
            }
        }
        if is_poweroff {
            crate::boot::power_off();
        }
    });
    if let Err(e) = spawned {
        conn.end_call(id);
        conn.send_error(
            id,
            &RemoteError::new(
                guestwright_protocol::Errno::EAGAIN,
                format!("cannot start a thread for {name}: {e}"),
            ),
        );
    }
}
