"""SSH/CLI collection (netmiko) for what SNMP does not give: OLT ONU optics and state, router interfaces."""
