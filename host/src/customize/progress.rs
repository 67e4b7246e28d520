//! What a customize, sysprep or clone run is doing, told to the front end as each step
//! starts. The library only names the step; the front end words it: `guestwright customize`
//! in its own words on stderr, `virt-customize` and `virt-sysprep` as those tools do
//! ([`Progress::virt_messages`], their `message` texts of guestfs-tools 1.48).
//! Nothing here prints.

use std::fmt;

use super::Operation;

/// One step of a run, as it starts.
#[derive(Debug, Clone, Copy)]
#[non_exhaustive]
pub enum Progress<'a> {
    /// The appliance is started with the images.
    Launching,
    /// Inspection looks for the guest and mounts it.
    Inspecting,
    /// A sysprep operation runs (`customize` too, before the customize steps it runs).
    Sysprep(&'static str),
    /// The guest's random seed is refreshed.
    RandomSeed,
    /// An empty /etc/machine-id gets a new id.
    MachineId,
    /// A customize operation runs.
    Operation(&'a Operation),
    /// Every `--password` and `--root-password` is set, after the other operations.
    Passwords,
    /// The system CA store is updated (sysprep's `ca-certificates` removed some).
    UpdateCaStore,
    /// `--selinux-relabel`: the guest is marked for relabelling.
    SelinuxRelabel,
    /// `--no-logfile`: the log of the commands run in the guest is scrubbed.
    ScrubLogfile,
    /// The changes are flushed to the images and the appliance is shut down.
    Finishing,
    /// Something was not done, and the run goes on (the front end prints it as a warning).
    Warning(&'a str),
}

/// Which reference tool's words [`Progress::virt_messages`] uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum VirtTool {
    /// virt-customize: `Examining the guest ...` and `Finishing off` around the steps.
    Customize,
    /// virt-sysprep: `Examining the guest ...`, then `Performing "NAME" ...` per operation.
    Sysprep,
}

impl Progress<'_> {
    /// The messages virt-customize or virt-sysprep 1.48 prints for this step (without their
    /// `[  12.3] ` time), none where it prints none.
    pub fn virt_messages(&self, tool: VirtTool) -> Vec<String> {
        let text = match self {
            Progress::Operation(op) => return op.virt_messages(),
            Progress::Launching => "Examining the guest ...".to_owned(),
            // Warnings are not progress: the front end prints them as the tool's warnings.
            Progress::Inspecting | Progress::UpdateCaStore | Progress::Warning(_) => {
                return Vec::new()
            }
            Progress::Sysprep(name) => format!("Performing \"{name}\" ..."),
            Progress::RandomSeed => "Setting a random seed".to_owned(),
            Progress::MachineId => "Setting the machine ID in /etc/machine-id".to_owned(),
            Progress::Passwords => "Setting passwords".to_owned(),
            Progress::SelinuxRelabel => "SELinux relabelling".to_owned(),
            Progress::ScrubLogfile => "Scrubbing the log file".to_owned(),
            Progress::Finishing => match tool {
                VirtTool::Customize => "Finishing off".to_owned(),
                VirtTool::Sysprep => return Vec::new(),
            },
        };
        vec![text]
    }
}

/// guestwright's own wording, in lower case (it follows `guestwright: `).
impl fmt::Display for Progress<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Progress::Launching => f.write_str("launching the appliance"),
            Progress::Inspecting => f.write_str("inspecting the guest"),
            Progress::Sysprep(name) => write!(f, "sysprep: {name}"),
            Progress::RandomSeed => f.write_str("setting a random seed"),
            Progress::MachineId => f.write_str("setting the machine ID in /etc/machine-id"),
            Progress::Operation(op) => write!(f, "{op}"),
            Progress::Passwords => f.write_str("setting passwords"),
            Progress::UpdateCaStore => f.write_str("sysprep: updating the system CA store"),
            Progress::SelinuxRelabel => f.write_str("marking the guest for SELinux relabelling"),
            Progress::ScrubLogfile => f.write_str("scrubbing the log file"),
            Progress::Finishing => f.write_str("flushing the changes to the image"),
            Progress::Warning(w) => write!(f, "warning: {w}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn virt_sysprep_quotes_the_operation_and_has_no_finishing_line() {
        assert_eq!(
            Progress::Sysprep("ssh-hostkeys").virt_messages(VirtTool::Sysprep),
            ["Performing \"ssh-hostkeys\" ..."]
        );
        assert!(Progress::Finishing
            .virt_messages(VirtTool::Sysprep)
            .is_empty());
        assert_eq!(
            Progress::Finishing.virt_messages(VirtTool::Customize),
            ["Finishing off"]
        );
        assert!(Progress::Inspecting
            .virt_messages(VirtTool::Customize)
            .is_empty());
    }
}
