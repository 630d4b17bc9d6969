//! `urne results`: every candidate's approvals, the elected and drawn seats,
//! ties, the replacement order and the parity outcome, as a table, CSV or JSON.

use clap::ValueEnum;
use urne_crypto::record::BallotCheck;

use super::output::Table;
use super::{Context, ElectionArg, Failure};
use crate::client::results::{Outcome, Results, Stage};
use crate::client::wallet::Wallet;
use crate::client::{board, Client};

/// Output formats of `urne results`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, ValueEnum)]
pub enum Format {
    /// Plain-text tables for reading.
    #[default]
    Table,
    /// One line per candidate and per drawn seat, for a spreadsheet.
    Csv,
    /// The whole result as JSON.
    Json,
}

/// Arguments of `urne results`.
#[derive(Debug, Clone, clap::Args)]
pub struct ResultsArgs {
    /// The election.
    #[command(flatten)]
    pub election: ElectionArg,
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Table)]
    pub format: Format,
}

/// `urne results`.
pub async fn run(ctx: &Context, args: &ResultsArgs) -> Result<(), Failure> {
    let (client, id) = match ctx.client() {
        Ok(client) => {
            let id = ctx.election(&client, &args.election).await?;
            (client, id)
        }
        // Like the voter commands: the server and election of the wallet.
        Err(no_server) => {
            let path = std::env::var_os("URNE_WALLET")
                .map(std::path::PathBuf::from)
                .or_else(|| ctx.config.wallet.clone())
                .unwrap_or_else(|| std::path::PathBuf::from("urne-wallet.json"));
            let Ok(w) = Wallet::load(&path) else {
                return Err(Failure::new(
                    no_server.message,
                    "pass --server URL, set `server` in the config file, or run this where \
                     your wallet is (urne-wallet.json, or URNE_WALLET)",
                ));
            };
            let client = Client::new(&w.server)?;
            let id = match &args.election.election {
                Some(e) => super::parse_hex32(e, "election id")?,
                None => super::parse_hex32(&w.election, "election id")?,
            };
            (client, id)
        }
    };
    let replay = board::replay(&client, &id, BallotCheck::Deferred, &|_, _| {}).await?;
    let results = Results::of(&replay.record);
    if !results.any_tallied() {
        return Err(Failure::new(
            format!(
                "no results yet: the election is in phase {} and no tally is published",
                results.phase
            ),
            "results appear once the trustees have decrypted a tally \
             (`urne trustee decrypt`); run this again then",
        ));
    }
    let text = match args.format {
        Format::Table => table(&results),
        Format::Csv => csv(&results).map_err(|e| Failure::plain(format!("CSV: {e}")))?,
        Format::Json => {
            serde_json::to_string_pretty(&results).map_err(|e| Failure::plain(e.to_string()))?
                + "\n"
        }
    };
    super::output::print(&text);
    Ok(())
}

/// What a candidate's result cell says.
fn outcome_text(outcome: &Outcome) -> String {
    match outcome {
        Outcome::Elected { seat } => format!("elected (seat {seat})"),
        Outcome::NextInLine {
            order,
            passed_over: true,
        } => format!("next in line {order} (passed over for the quotas or parity)"),
        Outcome::NextInLine { order, .. } => format!("next in line {order}"),
        Outcome::Pending => "seats pending".into(),
    }
}

fn plural(n: u64, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

/// The results as plain-text tables, one block per constituency.
pub fn table(results: &Results) -> String {
    let mut out = format!("{} ({})\n\n", results.title, results.phase);
    for c in &results.constituencies {
        out.push_str(&format!(
            "{} ({}): {}, {} by vote and {} by lot",
            c.name,
            c.id,
            plural(u64::from(c.seats), "seat", "seats"),
            c.seats_by_vote,
            c.seats_by_lot
        ));
        match (c.stage, c.ballots) {
            (Stage::Pending, _) | (_, None) => {
                out.push_str("; not counted yet\n\n");
                continue;
            }
            (_, Some(b)) => {
                out.push_str(&format!("; {} counted\n", plural(b, "ballot", "ballots")))
            }
        }
        let mut t = Table::new(&["place", "candidate", "category", "approvals", "result"]);
        let mut ties = Vec::new();
        for k in &c.candidates {
            t.row(vec![
                k.place.to_string(),
                k.id.clone(),
                k.category.clone(),
                k.votes.map(|v| v.to_string()).unwrap_or_default(),
                outcome_text(&k.outcome),
            ]);
            if let Some(h) = &k.tie_hash {
                ties.push(format!("{} {}…", k.id, &h[..12.min(h.len())]));
            }
        }
        out.push_str(&t.render());
        if !ties.is_empty() {
            out.push_str(&format!(
                "equal approvals are ordered by tie hash from the public lottery seed, lower first: {}\n",
                ties.join(", ")
            ));
        } else if c.candidates.iter().any(|k| !k.tied_with.is_empty()) {
            out.push_str("equal approvals will be ordered by the public lottery seed\n");
        }
        if c.stage == Stage::Seated {
            if c.drawn.is_empty() {
                out.push_str("drawn by lot: nobody\n");
            } else {
                let drawn: Vec<String> = c
                    .drawn
                    .iter()
                    .map(|d| format!("{}. {} ({})", d.order, d.id, d.category))
                    .collect();
                out.push_str(&format!("drawn by lot: {}\n", drawn.join(", ")));
            }
            for p in &c.parity {
                out.push_str(&format!(
                    "parity, {}: {} ({} elected, {} drawn; between {} and {}): {}\n",
                    p.category,
                    plural(u64::from(p.elected + p.drawn), "seat", "seats"),
                    p.elected,
                    p.drawn,
                    p.min,
                    p.max,
                    if p.met { "met" } else { "NOT met" }
                ));
            }
        } else {
            out.push_str("seats: pending until the lottery seed is posted and the seats drawn\n");
        }
        out.push('\n');
    }
    out
}

/// The results as CSV: one row per candidate, then one per drawn seat.
pub fn csv(results: &Results) -> Result<String, csv::Error> {
    let mut w = csv::Writer::from_writer(Vec::new());
    w.write_record([
        "constituency",
        "place",
        "id",
        "category",
        "approvals",
        "result",
        "seat",
        "next_in_line",
        "passed_over",
    ])?;
    for c in &results.constituencies {
        for k in &c.candidates {
            let votes = k.votes.map(|v| v.to_string()).unwrap_or_default();
            let (result, seat, next, passed) = match &k.outcome {
                Outcome::Elected { seat } => ("elected", seat.to_string(), String::new(), ""),
                Outcome::NextInLine { order, passed_over } => (
                    "not_elected",
                    String::new(),
                    order.to_string(),
                    if *passed_over { "yes" } else { "no" },
                ),
                Outcome::Pending => ("pending", String::new(), String::new(), ""),
            };
            w.write_record([
                c.id.as_str(),
                &k.place.to_string(),
                &k.id,
                &k.category,
                &votes,
                result,
                &seat,
                &next,
                passed,
            ])?;
        }
        for d in &c.drawn {
            w.write_record([
                c.id.as_str(),
                "",
                &d.id,
                &d.category,
                "",
                "drawn",
                &d.order.to_string(),
                "",
                "",
            ])?;
        }
    }
    let bytes = w.into_inner().map_err(|e| e.into_error())?;
    Ok(String::from_utf8_lossy(&bytes).into_owned())
}
