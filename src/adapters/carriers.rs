//! The actors' `SmsGateway` port: Telnyx's API, or the sandbox carrier that stands in for it.

use belfry_actors::ports::{OutboundSms, PortFuture, SendFailure, SmsGateway};

use crate::telnyx::client::TelnyxGateway;
use crate::telnyx::sandbox::SandboxCarrier;

impl SmsGateway for TelnyxGateway {
    fn send(&self, sms: OutboundSms) -> PortFuture<'_, Result<String, SendFailure>> {
        Box::pin(self.send_one(sms))
    }
}

impl SmsGateway for SandboxCarrier {
    fn send(&self, sms: OutboundSms) -> PortFuture<'_, Result<String, SendFailure>> {
        let message_id = self.accept(sms);
        Box::pin(async move { Ok(message_id) })
    }
}
