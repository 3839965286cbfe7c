import Foundation

#if canImport(Glibc)
    import Glibc
#endif

extension Org {
    /// Accepts an invitation: checks the code, lets the person confirm the hub,
    /// writes the acceptance into the drop directory and records the hub as Contacting Hub.
    ///
    /// - Parameters:
    ///   - localName: what this org calls the hub; by default derived from the hub's org name.
    ///   - tablePrefix: put before the names of this hub's tables, to keep two hubs' objects of the same name apart.
    ///   - confirm: shown the decoded code; returning `false` cancels with nothing written.
    /// - Throws: `XOShareError` (bad data) for a bad, expired or already accepted code.
    public func accept(
        code: InvitationCode, drop: DropDirectory, localName: String?, tablePrefix: String = "",
        confirm: (InvitationCode) throws -> Bool
    ) throws -> AcceptedHub {
        if let existing = try state.acceptedHub(id: code.connectionID) {
            throw XOShareError.badData(
                "This invitation was already accepted on \(formatTime(existing.acceptedAt)) (hub \(existing.name)); an invitation code can be used once; ask the hub for a new one if needed."
            )
        }
        let prefixCharacters = Set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_")
        guard tablePrefix.count <= 32, tablePrefix.allSatisfy({ prefixCharacters.contains($0) }) else {
            throw XOShareError.usage("A table prefix is at most 32 letters, digits and '_', such as 'acme_'.")
        }
        if code.hubPublicKey == (try publicKey) {
            throw XOShareError.badData(
                "This invitation was made by this org itself; accept it in the other org's home.")
        }
        let now = environment.now()
        guard now <= code.expiresAt else {
            throw XOShareError.badData(
                "This invitation expired at \(formatTime(code.expiresAt)); ask the hub for a new one.")
        }
        let name = localName ?? Self.suggestedName(for: code.hubOrgName)
        try Self.validateLocalName(name, what: "hub")
        if try state.acceptedHubs().contains(where: { $0.name == name }) {
            throw XOShareError.configuration(
                "A hub named \(name) is accepted already; choose another name with --name.")
        }
        guard try confirm(code) else {
            throw XOShareError.usage("Nothing was accepted: the hub was not confirmed.")
        }
        let acceptance = try Acceptance(
            connection: code.connectionID, spokeOrg: self.name, spokePublicKey: try publicKey, acceptedAt: now,
            secret: code.secret)
        let path = drop.pathOf(drop.acceptanceName(code.connectionID))
        try Files.writeAtomically(try acceptance.encoded(), to: path)
        environment.checkpoint?("accept.written")
        let hub = AcceptedHub(
            id: code.connectionID, name: name, hubOrg: code.hubOrgName, hubPublicKey: code.hubPublicKey,
            secret: code.secret, acceptedAt: now, tablePrefix: tablePrefix)
        do {
            try state.insertAcceptedHub(hub)
        } catch {
            unlink(path)
            throw error
        }
        return hub
    }

    /// A hub name made from its org name: lower case, other characters turned into '-'.
    static func suggestedName(for orgName: String) -> String {
        var name = ""
        for character in orgName.lowercased() {
            if character.isASCII && (character.isLetter || character.isNumber) {
                name.append(character)
            } else if !name.hasSuffix("-") && !name.isEmpty {
                name.append("-")
            }
        }
        while name.hasSuffix("-") { name.removeLast() }
        return name.isEmpty ? "hub" : String(name.prefix(64))
    }
}
