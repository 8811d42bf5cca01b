//! `wasmnf unload`: remove a filter from the kernel.

use super::{check_name, connect, kernel, Result};

/// Unload a filter from the kernel by name
#[derive(clap::Args, Debug)]
#[command(after_help = "Example:\n  wasmnf unload drop_port")]
pub struct Args {
    /// The filter's name, as `wasmnf list` shows it
    pub name: String,
}

pub fn run(args: Args) -> Result {
    let name = check_name(&args.name)?;
    connect()?.unload(name).map_err(kernel)?;
    println!("{name}: unloaded");
    Ok(())
}
