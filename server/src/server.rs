//! Running the service: bind, serve, shut down gracefully.
//!
//! Shutdown order: mark the state as shutting down (new appends get 503
//! `shutting_down`, every answer `Connection: close`) and keep answering for
//! [`Limits::shutdown_grace`], so keep-alive clients get that answer instead
//! of a reset connection; then stop accepting connections, let in-flight
//! requests finish (bounded by [`Limits::drain_timeout`]), and stop the
//! sequencer, which commits and flushes everything already queued before its
//! thread exits.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

use crate::api::auth::OrganiserToken;
use crate::api::limits::Limits;
use crate::api::{self, AppState};
use crate::board::{Board, BoardError};
use crate::clock::BoardClock;
use crate::election::machine::restore;
use crate::election::registry::Elections;
use crate::sequencer::LogRules;
use crate::store::sealed::SecretsAtRest;

/// Everything `urne serve` needs.
#[derive(Debug, Clone)]
pub struct ServerConfig {
    /// Data directory (store and board key).
    pub data_dir: PathBuf,
    /// Address to listen on; port 0 picks a free port.
    pub listen: SocketAddr,
    /// The organiser's bearer token, if organiser routes are to be usable.
    pub organiser_token: Option<OrganiserToken>,
    /// Limits, rate limits and timeouts.
    pub limits: Limits,
    /// Mount the test-support append route (tests and benchmarks only).
    pub test_support: bool,
    /// How secret rows (registrar keys, signer states) are kept at rest.
    pub secrets: SecretsAtRest,
    /// The board's clock (the system clock but in the demo and tests).
    pub clock: BoardClock,
}

/// Failures of the service as a whole.
#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    /// The board could not be opened.
    #[error(transparent)]
    Board(#[from] BoardError),
    /// Binding or serving the socket failed.
    #[error("network: {0}")]
    Io(#[from] std::io::Error),
    /// The server task ended abnormally.
    #[error("server task failed: {0}")]
    Task(#[from] tokio::task::JoinError),
}

/// A started server.
pub struct RunningServer {
    local_addr: SocketAddr,
    shutdown: oneshot::Sender<()>,
    task: JoinHandle<Result<(), ServeError>>,
    clock: BoardClock,
}

/// Opens the board and starts serving on `config.listen`.
pub async fn start(config: ServerConfig) -> Result<RunningServer, ServeError> {
    let elections = Arc::new(Elections::default());
    let (board, sequencer) = Board::open_sealed(
        &config.data_dir,
        &config.secrets,
        &mut |store, log, size| {
            let machine = restore(store, log, size, &elections).map_err(|e| e.to_string())?;
            Ok(machine.map(|m| Box::new(m) as Box<dyn LogRules>))
        },
    )?;
    api::members::resume_imports(&board).await;
    let listener = TcpListener::bind(config.listen).await?;
    let local_addr = listener.local_addr()?;
    let board_ref = Arc::downgrade(&board);
    crate::witness::submit::spawn(board_ref.clone(), elections.clone());
    let state = AppState::new(
        board,
        elections,
        config.organiser_token,
        &config.limits,
        config.clock.clone(),
    );
    let app = api::router(state.clone(), &config.limits, config.test_support);
    let drain = config.limits.drain_timeout;
    let grace = config.limits.shutdown_grace;
    let (shutdown, requested) = oneshot::channel::<()>();
    let (draining_tx, draining) = oneshot::channel::<()>();

    let serve = tokio::spawn(async move {
        axum::serve(listener, app)
            .with_graceful_shutdown(async move {
                // A dropped handle shuts the server down too.
                let _ = requested.await;
                state.begin_shutdown();
                tokio::time::sleep(grace).await;
                let _ = draining_tx.send(());
            })
            .await
    });
    let task = tokio::spawn(async move {
        let mut serve = serve;
        let served = tokio::select! {
            result = &mut serve => Some(result),
            _ = draining => match tokio::time::timeout(drain, &mut serve).await {
                Ok(result) => Some(result),
                Err(_) => {
                    tracing::warn!("requests still running after the drain timeout; stopping anyway");
                    serve.abort();
                    None
                }
            },
        };
        sequencer.stop().await;
        // Connection tasks may still be dropping their handle of the board
        // when `serve` returns; wait until the store is closed (and its
        // lock released), so that the data directory can be reopened.
        let closing = tokio::time::Instant::now();
        while board_ref.strong_count() > 0 && closing.elapsed() < drain {
            tokio::time::sleep(std::time::Duration::from_millis(2)).await;
        }
        if board_ref.strong_count() > 0 {
            tracing::warn!("the board is still referenced after shutdown");
        } else {
            tracing::info!("board closed");
        }
        match served {
            Some(result) => Ok(result??),
            None => Ok(()),
        }
    });
    tracing::info!(%local_addr, "listening");
    Ok(RunningServer {
        local_addr,
        shutdown,
        task,
        clock: config.clock,
    })
}

impl RunningServer {
    /// The bound address.
    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// The board's clock (tests and the demo move it forward).
    pub fn clock(&self) -> &BoardClock {
        &self.clock
    }

    /// Shuts down gracefully and waits until the board is closed.
    pub async fn shutdown(self) -> Result<(), ServeError> {
        let _ = self.shutdown.send(());
        self.task.await?
    }

    /// Serves until `signal` completes (or the server fails), then shuts down.
    pub async fn run_until(
        mut self,
        signal: impl std::future::Future<Output = ()>,
    ) -> Result<(), ServeError> {
        tokio::select! {
            result = &mut self.task => result?,
            () = signal => self.shutdown().await,
        }
    }
}

/// Completes on SIGINT or SIGTERM.
pub async fn termination_signal() {
    let interrupt = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        match signal(SignalKind::terminate()) {
            Ok(mut term) => {
                tokio::select! {
                    _ = interrupt => {},
                    _ = term.recv() => {},
                }
            }
            Err(e) => {
                tracing::warn!(error = %e, "cannot watch SIGTERM; only SIGINT stops the server");
                let _ = interrupt.await;
            }
        }
    }
    #[cfg(not(unix))]
    let _ = interrupt.await;
    tracing::info!("termination signal received");
}
