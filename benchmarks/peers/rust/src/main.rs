//! rust-vsock-http: hyper 0.14 over tokio-vsock 0.3, a peer for the benchmark suite (benchmarks/peers/README.md).
//! Serves HTTP/1.1 on vsock any:PORT and h2c (prior knowledge) on any:PORT+1 with the same endpoints as the
//! other peers.

use std::convert::Infallible;
use std::io::Write;

use hyper::body::HttpBody;
use hyper::server::conn::Http;
use hyper::service::service_fn;
use hyper::{Body, Method, Request, Response, StatusCode};
use tokio_vsock::VsockListener;

const CID_ANY: u32 = 0xFFFF_FFFF;
static CHUNK: [u8; 64 * 1024] = [0x5a; 64 * 1024];

fn text(status: StatusCode, body: String) -> Response<Body> {
    Response::builder()
        .status(status)
        .header("content-type", "text/plain")
        .header("content-length", body.len())
        .body(Body::from(body))
        .unwrap()
}

async fn handle(request: Request<Body>) -> Result<Response<Body>, Infallible> {
    let path = request.uri().path().to_owned();
    Ok(match (request.method(), path.as_str()) {
        (&Method::GET, "/plaintext") => Response::builder()
            .header("content-type", "text/plain")
            .header("content-length", 13)
            .body(Body::from("Hello, World!"))
            .unwrap(),
        (&Method::GET, "/healthz") => text(StatusCode::OK, "ok".to_owned()),
        (&Method::GET, p) if p.starts_with("/bytes/") => match p["/bytes/".len()..].parse::<u64>() {
            Ok(length) => {
                let (mut sender, body) = Body::channel();
                tokio::spawn(async move {
                    let mut left = length;
                    while left > 0 {
                        let n = left.min(CHUNK.len() as u64) as usize;
                        if sender.send_data(hyper::body::Bytes::from_static(&CHUNK[..n])).await.is_err() {
                            return;
                        }
                        left -= n as u64;
                    }
                });
                Response::builder()
                    .header("content-type", "application/octet-stream")
                    .header("content-length", length)
                    .body(body)
                    .unwrap()
            }
            Err(_) => text(StatusCode::BAD_REQUEST, "bad length".to_owned()),
        },
        (&Method::POST, "/upload") => {
            // Read all of it before answering: clients that send the whole body first (HttpClient) need that.
            let mut body = request.into_body();
            let mut total: u64 = 0;
            while let Some(chunk) = body.data().await {
                match chunk {
                    Ok(bytes) => total += bytes.len() as u64,
                    Err(e) => return Ok(text(StatusCode::BAD_REQUEST, e.to_string())),
                }
            }
            text(StatusCode::OK, total.to_string())
        }
        _ => text(StatusCode::NOT_FOUND, "not found".to_owned()),
    })
}

async fn serve(mut listener: VsockListener, http2: bool) {
    let mut http = Http::new();
    if http2 {
        http.http2_only(true).http2_max_concurrent_streams(1000);
    } else {
        http.http1_only(true);
    }
    loop {
        match listener.accept().await {
            Ok((stream, _)) => {
                let connection = http.serve_connection(stream, service_fn(handle));
                tokio::spawn(async move {
                    let _ = connection.await;
                });
            }
            Err(e) => eprintln!("rust-vsock-http: accept: {}", e),
        }
    }
}

fn bind(port: u32) -> VsockListener {
    VsockListener::bind(CID_ANY, port).unwrap_or_else(|e| {
        eprintln!("rust-vsock-http: listen on vsock any:{}: {}", port, e);
        std::process::exit(1)
    })
}

#[tokio::main]
async fn main() {
    let args: Vec<String> = std::env::args().collect();
    let port: u32 = match args.iter().position(|a| a == "--port") {
        Some(i) => args.get(i + 1).and_then(|p| p.parse().ok()).unwrap_or_else(|| {
            eprintln!("usage: rust-vsock-http [--port N]  (HTTP/1.1 on vsock any:N, h2c on N+1)");
            std::process::exit(2)
        }),
        None => 5300,
    };
    let h1 = bind(port);
    let h2 = bind(port + 1);
    println!("listening on vsock://any:{}", port);
    std::io::stdout().flush().ok();
    tokio::spawn(serve(h2, true));
    serve(h1, false).await;
}
